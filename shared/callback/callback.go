// Package callback is the WeChat webhook: URL verification on GET, and on POST the
// signed (in compatible and safe mode, encrypted) pushes, answered with the scanned
// scene's passive reply. Every push is verified before it is parsed, claimed in the
// store so that WeChat's retries count once and get the same reply, and logged as
// one JSON line without secrets or message bodies.
package callback

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
)

// Store is what the callback needs from storage.
type Store interface {
	// Lookup reads, in one round trip, what handling a push needs: an earlier
	// delivery's claim, the scene's mapping and statistics hints, the follower's source.
	Lookup(ctx context.Context, q qr.Lookup) (qr.PushState, error)
	// Record claims the push and counts it in one atomic step. If another delivery
	// claimed it first it writes nothing and returns that claim, first=false.
	Record(ctx context.Context, c qr.Claim, scan *qr.Scan) (winner *qr.Claim, first bool, err error)
	// BindSession binds a pending log-in session to openid together with the claim
	// (LoginBound), or writes nothing and says why not (LoginUsed, LoginExpired),
	// or returns an earlier delivery's claim.
	BindSession(ctx context.Context, c qr.Claim, id, openid string, at time.Time) (outcome string, prior *qr.Claim, err error)
}

// success is WeChat's "nothing to say": it shows nothing and does not retry.
var success = []byte("success")

// Handler serves GET and POST on the callback URL.
type Handler struct {
	cfg   Config
	keys  Keys
	store Store
	log   *slog.Logger
	now   func() time.Time
	// platform, set by NewComponent, makes this the authorization-event URL.
	platform Platform
}

// New returns a Handler; cfg must carry the AppID and the Token (or Keys).
func New(cfg Config, store Store, log *slog.Logger) (*Handler, error) {
	if store == nil {
		return nil, errors.New("callback: a store is required")
	}
	return newHandler(cfg, store, log)
}

// newHandler is New without a store, for the component URL, which stores
// through its Platform.
func newHandler(cfg Config, store Store, log *slog.Logger) (*Handler, error) {
	if cfg.AppID == "" || cfg.Token == "" && cfg.Keys == nil {
		return nil, errors.New("callback: AppID and Token are required")
	}
	keys := cfg.Keys
	if keys == nil {
		v, err := wechat.NewVerifier(wechat.Keys{Token: cfg.Token, Cipher: cfg.Cipher, PreviousToken: cfg.PreviousToken, PreviousCipher: cfg.PreviousCipher})
		if err != nil {
			return nil, fmt.Errorf("callback: %w", err)
		}
		keys = StaticKeys{v}
	}
	if _, err := ParseMessageMode(string(cfg.MessageMode)); err != nil {
		return nil, fmt.Errorf("callback: MessageMode: %w", err)
	}
	if cfg.Keys == nil && cfg.Cipher == nil && cfg.PreviousCipher == nil && cfg.MessageMode.encrypted(false) {
		return nil, fmt.Errorf("callback: MessageMode %s %s", cfg.MessageMode, errNoKey)
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Deadline <= 0 {
		cfg.Deadline = DefaultDeadline
	}
	if cfg.Login.Bound == nil {
		cfg.Login.Bound = DefaultLoginReplies.Bound
	}
	if cfg.Login.Used == nil {
		cfg.Login.Used = DefaultLoginReplies.Used
	}
	if cfg.Login.Expired == nil {
		cfg.Login.Expired = DefaultLoginReplies.Expired
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	return &Handler{cfg: cfg, keys: keys, store: store, log: log, now: now}, nil
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		h.verifyURL(w, r)
	case http.MethodPost:
		h.push(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeText(w, http.StatusMethodNotAllowed, "the callback takes GET (URL verification) and POST (pushes)")
	}
}

// verifyURL answers the check WeChat makes when the server URL is saved: echostr,
// byte for byte, only under a valid signature. Safe mode does not change it for
// Official Accounts (docs/wechat.md §2).
func (h *Handler) verifyURL(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	echostr := q.Get("echostr")
	if err := h.checkQuery(q); err != nil {
		h.reject(w, r, "verify", err)
		return
	}
	_, served, err := h.verify(r.Context(), func(v *wechat.Verifier) (wechat.Served, error) {
		return v.VerifySignature(q.Get("timestamp"), q.Get("nonce"), q.Get("signature"))
	})
	if err != nil {
		h.reject(w, r, "verify", err)
		return
	}
	if echostr == "" {
		h.reject(w, r, "verify", reject(http.StatusBadRequest, "missing query parameter echostr"))
		return
	}
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "url verified", slog.String("token", served.Token.String()))
	writeText(w, http.StatusOK, echostr)
}

// checkQuery applies the checks every request gets before its signature: the
// parameters are there and the timestamp is inside the window.
func (h *Handler) checkQuery(q map[string][]string) error {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	signature, timestamp, nonce := get("signature"), get("timestamp"), get("nonce")
	for _, p := range [...]struct{ name, value string }{{"signature", signature}, {"timestamp", timestamp}, {"nonce", nonce}} {
		if p.value == "" {
			return reject(http.StatusBadRequest, "missing query parameter "+p.name)
		}
	}
	return wechat.CheckTimestamp(timestamp, h.now(), h.cfg.Tolerance)
}

// verify runs check with the current values and, if it fails for want of the
// right Token or key, once more with values re-read when they were due
// (Keys.Renew): a push under a Token this instance has not seen yet is served
// rather than refused. An accepted request never waits.
func (h *Handler) verify(ctx context.Context, check func(*wechat.Verifier) (wechat.Served, error)) (*wechat.Verifier, wechat.Served, error) {
	v, err := h.keys.Get(ctx)
	if err != nil {
		return nil, wechat.Served{}, err // the secret could not be read: 503, and WeChat retries
	}
	served, err := check(v)
	if err == nil || !keyMismatch(err) {
		return v, served, err
	}
	rctx, cancel := context.WithTimeout(ctx, renewWait)
	defer cancel()
	if nv, ok := h.keys.Renew(rctx); ok {
		if s, err2 := check(nv); err2 == nil {
			return nv, s, nil
		}
	}
	return v, served, err
}

// renewWait bounds how long a refused request waits for the secret's re-read:
// one Secrets Manager read, well inside WeChat's 5 s.
const renewWait = time.Second

// keyMismatch tells the failures a newer Token or EncodingAESKey might cure.
func keyMismatch(err error) bool {
	for _, e := range [...]error{wechat.ErrSignature, wechat.ErrMsgSignature, wechat.ErrPadding, wechat.ErrMessageLength, wechat.ErrAppID} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// pushResult is what handling one push came to, for the reply and the log line.
type pushResult struct {
	reply   []byte
	event   string
	scene   string
	outcome string
	// keys and served are the values that verified the push: its reply is
	// signed and sealed with them.
	keys   *wechat.Verifier
	served wechat.Served
}

func (h *Handler) push(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	q := r.URL.Query()
	mode := "plaintext"
	if q.Get("encrypt_type") == "aes" {
		mode = "aes"
	}
	res, err := h.handlePush(r, q)
	if err != nil {
		h.reject(w, r, "push", err, slog.String("mode", mode), slog.String("event", res.event), slog.String("scene", res.scene))
		return
	}
	body := res.reply
	if mode == "aes" && !isSuccess(body) {
		// Sealed with the key that opened this delivery: a retry of a push under
		// the previous key gets the stored reply under that key too.
		ts := h.now().Unix()
		body, err = res.keys.Seal(nil, res.served, res.reply, ts, strconv.FormatUint(uint64(rand.Uint32()), 10))
		if err != nil {
			h.reject(w, r, "push", err, slog.String("mode", mode))
			return
		}
	}
	if isSuccess(body) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
	if h.log.Enabled(r.Context(), slog.LevelInfo) { // no attributes built for nobody
		attrs := [...]slog.Attr{
			slog.String("event", res.event),
			slog.String("scene", res.scene),
			slog.String("outcome", res.outcome),
			slog.String("mode", mode),
			slog.Int("status", http.StatusOK),
			slog.Duration("duration", h.now().Sub(start)),
			// Which value served, never the value: during a rotation, the log says
			// when WeChat has switched to the new Token or key.
			slog.String("token", res.served.Token.String()),
			slog.String("aes_key", res.served.AESKey.String()),
		}
		n := len(attrs)
		if mode != "aes" {
			n-- // no key served a plaintext push
		}
		h.log.LogAttrs(r.Context(), slog.LevelInfo, "push", attrs[:n]...)
	}
}

// handlePush verifies, reads, decrypts and parses the push, then dispatches it.
// q is the request's query, parsed once by the caller. The query's signature and
// the message mode are checked before the body is read: a request that cannot be
// served costs no read, no parse and no decryption, however large its body.
func (h *Handler) handlePush(r *http.Request, q url.Values) (pushResult, error) {
	encryptType, msgSignature := q.Get("encrypt_type"), q.Get("msg_signature")
	if err := h.checkQuery(q); err != nil {
		return pushResult{}, err
	}
	switch encryptType {
	case "", "raw", "aes":
	default:
		return pushResult{}, reject(http.StatusBadRequest, "encrypt_type must be aes or absent")
	}
	timestamp, nonce, signature := q.Get("timestamp"), q.Get("nonce"), q.Get("signature")
	keys, served, err := h.verify(r.Context(), func(v *wechat.Verifier) (wechat.Served, error) {
		return v.VerifySignature(timestamp, nonce, signature)
	})
	if err != nil {
		return pushResult{}, err
	}
	canDecrypt := keys.CanDecrypt()
	switch {
	case encryptType != "aes" && h.cfg.MessageMode.encrypted(canDecrypt):
		// The query signature covers the Token, timestamp and nonce, not the body:
		// served, a plain push would let one genuine query carry any body.
		return pushResult{}, reject(http.StatusForbidden, "the account is in "+string(h.mode(canDecrypt))+" mode: a push without encrypt_type=aes is refused")
	case h.cfg.MessageMode.encrypted(false) && !canDecrypt: // compatible or safe, set explicitly
		return pushResult{}, reject(http.StatusInternalServerError, "WECHAT_MESSAGE_MODE: "+string(h.cfg.MessageMode)+" "+errNoKey)
	case encryptType == "aes" && !canDecrypt:
		return pushResult{}, reject(http.StatusInternalServerError, "encrypted push received but no EncodingAESKey is configured (WECHAT_ENCODING_AES_KEY)")
	case encryptType == "aes" && msgSignature == "":
		return pushResult{}, reject(http.StatusBadRequest, "missing query parameter msg_signature")
	}
	body, err := h.readBody(r)
	if err != nil {
		return pushResult{}, err
	}
	msg, err := wechat.ParseMessage(body)
	if err != nil {
		return pushResult{}, reject(http.StatusBadRequest, "the body is not a WeChat XML push")
	}
	var signed *qr.SignedBody
	if encryptType != "aes" {
		signed = h.signedBody(signature, timestamp, body)
	}
	if encryptType == "aes" {
		// A compatible-mode body also carries the plaintext fields; only the
		// decrypted message, covered by msg_signature, is trusted.
		if msg.Encrypt == "" {
			return pushResult{}, reject(http.StatusBadRequest, "encrypt_type=aes but the body has no Encrypt element")
		}
		var inner []byte
		keys, served, err = h.verify(r.Context(), func(v *wechat.Verifier) (wechat.Served, error) {
			s, err := v.VerifySignature(timestamp, nonce, signature)
			if err != nil {
				return s, err
			}
			inner, s, err = v.Decrypt(s, timestamp, nonce, msgSignature, msg.Encrypt)
			return s, err
		})
		if err != nil {
			return pushResult{}, err
		}
		if h.platform != nil {
			ctx, cancel := context.WithTimeout(r.Context(), h.cfg.Deadline)
			defer cancel()
			res, err := h.componentEvent(ctx, inner)
			res.keys, res.served = keys, served
			return res, err
		}
		if msg, err = wechat.ParseMessage(inner); err != nil {
			return pushResult{}, reject(http.StatusBadRequest, "the decrypted message is not WeChat XML")
		}
	}

	if h.cfg.ToUserName != "" && msg.ToUserName != h.cfg.ToUserName {
		// An authorizer's pushes are all sealed with the platform's keys: the
		// trailer cannot tell one authorizer from another, the addressee can.
		return pushResult{}, reject(http.StatusForbidden, "the push is addressed to another account")
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.cfg.Deadline)
	defer cancel()
	res, err := h.dispatch(ctx, &msg, signed)
	res.keys, res.served = keys, served
	return res, err
}

// signedBody ties a plain push's query signature to its body. The record may go
// a minute after the timestamp window closes, when the signature is refused
// anyway (with the window off, for local replays only, a minute after now).
func (h *Handler) signedBody(signature, timestamp string, body []byte) *qr.SignedBody {
	ts, _ := strconv.ParseInt(timestamp, 10, 64) // checkQuery has checked it
	until := time.Unix(max(ts, h.now().Unix()), 0).Add(h.cfg.Tolerance + time.Minute)
	return &qr.SignedBody{Signature: signature, Body: sha256.Sum256(body), Until: until}
}

// mode is the message mode in force: the configured one, or the default rule's.
func (h *Handler) mode(canDecrypt bool) MessageMode {
	switch {
	case h.cfg.MessageMode != "":
		return h.cfg.MessageMode
	case canDecrypt:
		return Safe
	}
	return Plaintext
}

// readBody reads at most MaxBody bytes; anything longer is refused before parsing.
// It reads into one buffer sized from Content-Length when that is given, as API
// Gateway's events always give it.
func (h *Handler) readBody(r *http.Request) ([]byte, error) {
	tooLarge := func() error {
		return reject(http.StatusRequestEntityTooLarge, "the body is over "+strconv.FormatInt(h.cfg.MaxBody, 10)+" bytes")
	}
	if r.ContentLength > h.cfg.MaxBody {
		return nil, tooLarge()
	}
	size := 512
	if r.ContentLength > 0 {
		size = int(r.ContentLength) + 1 // +1 so that EOF is seen without growing
	}
	buf := make([]byte, 0, size)
	limited := io.LimitReader(r.Body, h.cfg.MaxBody+1)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := limited.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, reject(http.StatusBadRequest, "the body could not be read")
		}
	}
	if int64(len(buf)) > h.cfg.MaxBody {
		return nil, tooLarge()
	}
	return buf, nil
}

// dispatch decides what a verified push means and what it answers. signed, for a
// plain push, goes with every claim written, so that the store serves its query
// signature with this body only; the pushes that claim nothing write nothing.
func (h *Handler) dispatch(ctx context.Context, msg *wechat.Message, signed *qr.SignedBody) (pushResult, error) {
	res := pushResult{event: msg.Event, reply: success, outcome: "ignored"}
	if msg.MsgType != "event" {
		res.event = msg.MsgType
		if msg.MsgType == "text" && h.cfg.Texts != nil {
			return h.text(ctx, msg, signed, res)
		}
		return h.ignore(ctx, msg, signed, res)
	}
	if scene, ok := msg.Scene(); ok {
		if id, login := strings.CutPrefix(scene, qr.LoginPrefix); login {
			res.scene = qr.LoginPrefix + "…" // the id is a credential: keep it out of logs
			return h.login(ctx, msg, signed, id, res)
		}
		res.scene = scene
		return h.scan(ctx, msg, signed, scene, res)
	}
	switch msg.Event {
	case qr.EventSubscribe:
		// A follow through search or a shared card: nothing to count, but it is who
		// brought this follower now, so the store forgets any older source.
		var welcome []byte
		if h.cfg.Welcome != nil {
			welcome = h.render(msg, h.cfg.Welcome)
		}
		return h.record(ctx, msg, signed, "", res, welcome)
	case qr.EventUnsubscribe:
		return h.record(ctx, msg, signed, "", res, nil)
	}
	return h.ignore(ctx, msg, signed, res)
}

// ignore answers "success" to a push the stack does nothing with (a user's
// message, a menu click, an event it does not handle). A plain one is claimed
// all the same, with its query signature: unrecorded, the signature of a
// genuine message would serve any other body, a forged subscribe among them,
// inside the timestamp window. An encrypted one needs no record: its
// msg_signature covers its body.
func (h *Handler) ignore(ctx context.Context, msg *wechat.Message, signed *qr.SignedBody, res pushResult) (pushResult, error) {
	if signed == nil {
		return res, nil
	}
	_, first, err := h.store.Record(ctx, qr.Claim{Key: msg.DedupeKey(), OpenID: msg.FromUserName, At: time.Unix(msg.CreateTime, 0).UTC(), Signed: signed}, nil)
	if err == nil && !first {
		res.outcome = "duplicate"
	}
	return res, err
}

// scan answers a scene's scan once per push: the first delivery renders the reply
// and records it with the counts; every retry answers the recorded bytes.
func (h *Handler) scan(ctx context.Context, msg *wechat.Message, signed *qr.SignedBody, scene string, res pushResult) (pushResult, error) {
	var reply *qr.Reply
	return h.recordWith(ctx, msg, signed, scene, res, func(st qr.PushState) []byte {
		reply = h.cfg.Default
		if st.Code != nil && st.Code.Reply != nil {
			reply = st.Code.Reply
		}
		if reply == nil {
			return nil
		}
		return h.render(msg, reply)
	})
}

func (h *Handler) record(ctx context.Context, msg *wechat.Message, signed *qr.SignedBody, scene string, res pushResult, body []byte) (pushResult, error) {
	return h.recordWith(ctx, msg, signed, scene, res, func(qr.PushState) []byte { return body })
}

// recordWith looks the push up, answers a retry from its claim, and otherwise
// records the push with the reply that body renders from what the lookup found.
func (h *Handler) recordWith(ctx context.Context, msg *wechat.Message, signed *qr.SignedBody, scene string, res pushResult, body func(qr.PushState) []byte) (pushResult, error) {
	key := msg.DedupeKey()
	at := time.Unix(msg.CreateTime, 0).UTC()
	st, err := h.store.Lookup(ctx, qr.Lookup{PushKey: key, Scene: scene, OpenID: msg.FromUserName, Event: msg.Event, At: at, Signed: signed})
	switch {
	case err != nil:
		return res, err
	case st.SignatureReused:
		return res, qr.ErrSignatureReused
	}
	if st.Claim != nil {
		res.reply, res.outcome = answerFrom(msg, st.Claim.Reply), "duplicate"
		return res, nil
	}
	reply := body(st)
	if reply == nil {
		reply = success
	}
	scan := &qr.Scan{
		Scene: scene, OpenID: msg.FromUserName, Event: msg.Event, At: at,
		Unique: !st.Seen, UniqueToday: !st.SeenToday, Register: !st.Registered, Source: st.Source, SeenUntil: st.SeenUntil,
	}
	winner, first, err := h.store.Record(ctx, qr.Claim{Key: key, OpenID: msg.FromUserName, Reply: storedReply(msg, reply), At: at, Signed: signed}, scan)
	if err != nil {
		return res, err
	}
	res.reply, res.outcome = reply, "recorded"
	if !first {
		res.reply, res.outcome = answerFrom(msg, winner.Reply), "duplicate"
	}
	return res, nil
}

// login binds a scan-to-log-in session to its first scanner. Sessions count in no
// statistics; the push is still claimed, so WeChat's retries get the same answer.
func (h *Handler) login(ctx context.Context, msg *wechat.Message, signed *qr.SignedBody, id string, res pushResult) (pushResult, error) {
	key := msg.DedupeKey()
	st, err := h.store.Lookup(ctx, qr.Lookup{PushKey: key, OpenID: msg.FromUserName, Event: msg.Event, Signed: signed})
	switch {
	case err != nil:
		return res, err
	case st.SignatureReused:
		return res, qr.ErrSignatureReused
	}
	if st.Claim != nil {
		res.reply, res.outcome = answerFrom(msg, st.Claim.Reply), "duplicate"
		return res, nil
	}
	at := time.Unix(msg.CreateTime, 0).UTC()
	bound := h.render(msg, h.cfg.Login.Bound)
	outcome, prior, err := h.store.BindSession(ctx, qr.Claim{Key: key, OpenID: msg.FromUserName, Reply: storedReply(msg, bound), At: at, Signed: signed}, id, msg.FromUserName, at)
	switch {
	case err != nil:
		return res, err
	case prior != nil:
		res.reply, res.outcome = answerFrom(msg, prior.Reply), "duplicate"
		return res, nil
	case outcome == qr.LoginBound:
		res.reply, res.outcome = bound, "login bound"
		return res, nil
	}
	reply := h.cfg.Login.Expired
	if outcome == qr.LoginUsed {
		reply = h.cfg.Login.Used
	}
	body := h.render(msg, reply)
	if msg.Event != qr.EventSubscribe {
		// A follower scanning a spent log-in code (SCAN) changes nothing about
		// them: only the push is claimed, so that retries get the same answer.
		// Recording it as a scan through no code would forget the scene that
		// brought them, and their leaving would be charged to nothing.
		winner, first, err := h.store.Record(ctx, qr.Claim{Key: key, OpenID: msg.FromUserName, Reply: storedReply(msg, body), At: at, Signed: signed}, nil)
		switch {
		case err != nil:
			return res, err
		case !first:
			res.reply, res.outcome = answerFrom(msg, winner.Reply), "duplicate"
		default:
			res.reply, res.outcome = body, "login "+outcome
		}
		return res, nil
	}
	// A new follower through a spent log-in code is a follow through no code:
	// whatever brought them before did not bring them this time.
	res, err = h.record(ctx, msg, signed, "", res, body)
	if res.outcome == "recorded" {
		res.outcome = "login " + outcome
	}
	return res, err
}

// render builds the passive reply XML: To and From swapped, CreateTime now.
func (h *Handler) render(msg *wechat.Message, r *qr.Reply) []byte {
	to, from, now := msg.FromUserName, msg.ToUserName, h.now().Unix()
	switch r.Type {
	case qr.ReplyNews:
		articles := make([]wechat.Article, 0, qr.MaxArticles)
		for _, a := range r.Articles[:min(len(r.Articles), qr.MaxArticles)] {
			articles = append(articles, wechat.Article{Title: a.Title, Description: a.Description, PicURL: a.PicURL, URL: a.URL})
		}
		return wechat.AppendNews(nil, to, from, now, articles)
	case qr.ReplyImage:
		return wechat.AppendImage(nil, to, from, now, r.MediaID)
	default:
		return wechat.AppendText(nil, to, from, now, r.Content)
	}
}

func isSuccess(b []byte) bool { return string(b) == string(success) }
