package actions

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
)

// Store is what the actions need from storage. Every write that counts is
// conditional and carries its counter in the same transaction, so a redelivered
// record neither repeats a message nor counts twice.
type Store interface {
	// Load reads in one go the mappings of scenes (absent scenes are missing
	// from the map) and the progress of recs (by PushID).
	Load(ctx context.Context, scenes []string, recs []qr.ScanRecord) (map[string]*qr.Code, map[string]qr.ActionProgress, error)
	// TagID returns the WeChat id kept for a tag name; ok is false when none is kept.
	TagID(ctx context.Context, name string) (id int64, ok bool, err error)
	// SaveTagID keeps a tag name's WeChat id.
	SaveTagID(ctx context.Context, name string, id int64) error
	// Every write below refuses with qr.ErrFollowerErased, and writes nothing,
	// once the record's follower was erased after the push.

	// MarkTagged writes the record's tag marker and, the first time only, counts
	// it: tagged when ok, tag_failed when WeChat refused it for good.
	MarkTagged(ctx context.Context, r qr.ScanRecord, ok bool) (first bool, err error)
	// ClaimFollowup claims follow-up i of r and counts it sent, before it is
	// sent; claimed is false when an earlier delivery holds the claim.
	ClaimFollowup(ctx context.Context, r qr.ScanRecord, i int) (claimed bool, err error)
	// SettleFollowup undoes the "sent" of a claimed follow-up whose send did not succeed.
	SettleFollowup(ctx context.Context, r qr.ScanRecord, i int, o qr.FollowupOutcome) error
	// SkipFollowup claims follow-up i as skipped and counts it, unless claimed before.
	SkipFollowup(ctx context.Context, r qr.ScanRecord, i int) error
	// MarkPublished notes that the events of recs are on the bus (not of the
	// records whose follower was erased after the push).
	MarkPublished(ctx context.Context, recs []qr.ScanRecord) error
}

// WeChat is the part of *wechat.Client the actions call.
type WeChat interface {
	Tags(ctx context.Context, accessToken string) ([]wechat.Tag, error)
	CreateTag(ctx context.Context, accessToken, name string) (wechat.Tag, error)
	BatchTag(ctx context.Context, accessToken string, tagID int64, openids []string) error
	SendCustomMessage(ctx context.Context, accessToken string, msg wechat.CustomMessage) error
}

// Tokens hands out the account's access token (a *token.Source).
type Tokens interface {
	Token(ctx context.Context) (string, error)
	Invalidate(ctx context.Context, failed string) (string, error)
}

// Publisher puts events on the bus. It returns one error per event (nil for
// an event the bus took), in order.
type Publisher interface {
	Publish(ctx context.Context, events []Event) []error
}

// Config tunes the actions.
type Config struct {
	// Window is how long after a scan WeChat accepts customer-service
	// messages (docs/wechat.md §12: 1 minute); Margin is kept back from it for the time a
	// message takes to arrive. A follow-up whose send would start later than
	// at + Window - Margin is skipped.
	Window, Margin time.Duration
	// Workers is how many records send their follow-ups at once (each
	// record's messages go one after the other, in order).
	Workers int
	// Reserve is the time kept before the invocation's deadline: no WeChat
	// call starts later, so that a slow WeChat fails the records left (Lambda
	// retries them) instead of timing the whole batch out.
	Reserve time.Duration
	Now     func() time.Time
}

// Defaults of Config.
const (
	DefaultWindow  = wechat.CustomWindowSeconds * time.Second
	DefaultMargin  = 5 * time.Second
	DefaultWorkers = 8
	DefaultReserve = 5 * time.Second
)

// Actions performs the actions of a batch of scan records. Build one per
// process: it keeps the tag ids it learned.
type Actions struct {
	store  Store
	wx     WeChat
	tokens Tokens
	bus    Publisher // nil: publish nothing
	cfg    Config
	log    *slog.Logger

	mu     sync.Mutex
	tagIDs map[string]int64 // tag name → WeChat id, learned this process
}

// New returns the actions. bus may be nil (EVENT_BUS_NAME empty): nothing is published.
func New(cfg Config, store Store, wx WeChat, tokens Tokens, bus Publisher, log *slog.Logger) (*Actions, error) {
	if store == nil || wx == nil || tokens == nil {
		return nil, errors.New("actions: a store, a WeChat client and a token source are required")
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Margin < 0 || cfg.Margin >= cfg.Window {
		return nil, fmt.Errorf("actions: margin %v must be in [0, %v)", cfg.Margin, cfg.Window)
	}
	if cfg.Margin == 0 {
		cfg.Margin = DefaultMargin
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.Reserve <= 0 {
		cfg.Reserve = DefaultReserve
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Actions{store: store, wx: wx, tokens: tokens, bus: bus, cfg: cfg, log: log, tagIDs: map[string]int64{}}, nil
}

// batch is one Handle call's state.
type batch struct {
	codes    map[string]*qr.Code
	progress map[string]qr.ActionProgress
	// down is set once WeChat failed in a way that says it is unwell (no
	// answer, a 5xx, -1): the batch's remaining WeChat work fails at once,
	// without a call, and Lambda retries it later. It bounds the calls, and
	// the time, that a hung WeChat costs a batch.
	down atomic.Bool

	mu     sync.Mutex
	failed map[string]string // record ID → why
	erased map[string]bool   // PushID → a write was refused: the follower was erased meanwhile
}

// stop notes that r's follower was erased while r was in flight: r does nothing more.
func (b *batch) stop(r qr.ScanRecord) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.erased[r.PushID] = true
}

func (b *batch) stopped(r qr.ScanRecord) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.erased[r.PushID]
}

func (b *batch) fail(r qr.ScanRecord, why string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.failed[r.ID]; !ok {
		b.failed[r.ID] = why
	}
}

// Handle performs the actions of recs and returns the IDs of the records that
// failed and must be delivered again. It fails records, never
// the batch: a record that keeps failing reaches the dead-letter queue alone.
func (a *Actions) Handle(ctx context.Context, recs []qr.ScanRecord) []string {
	var acting []qr.ScanRecord
	var scenes []string
	seen := map[string]bool{}
	// A push twice in one batch (a replay of the stream handed over with the
	// original, say) acts once; both copies share the outcome.
	twins := map[string][]string{} // PushID → IDs of the later copies
	first := map[string]bool{}
	for _, r := range recs {
		k := kindOf(r)
		if k == kindNone {
			continue
		}
		if id := r.PushID; first[id] {
			twins[id] = append(twins[id], r.ID)
			continue
		}
		first[r.PushID] = true
		acting = append(acting, r)
		if k == kindScan && !seen[r.Scene] {
			seen[r.Scene] = true
			scenes = append(scenes, r.Scene)
		}
	}
	if len(acting) == 0 {
		return nil
	}
	b := &batch{failed: map[string]string{}, erased: map[string]bool{}}
	var err error
	b.codes, b.progress, err = a.store.Load(ctx, scenes, acting)
	if err != nil {
		a.log.Error("loading scenes and progress failed", slog.Int("records", len(acting)), slog.String("error", err.Error()))
		out := ids(acting)
		for _, t := range twins {
			out = append(out, t...)
		}
		return out
	}
	// A record of a follower erased after the push does nothing: no tag, no
	// follow-up, no event, no marker (docs/operations.md, "Retention and erasure").
	kept := acting[:0:0]
	for _, r := range acting {
		if b.progress[r.PushID].Erased {
			a.log.Info("the follower was erased after this push; nothing done", slog.String("id", r.PushID))
			continue
		}
		kept = append(kept, r)
	}
	if acting = kept; len(acting) == 0 {
		return nil
	}
	// Follow-ups first: they are the ones with a deadline.
	a.followups(ctx, b, acting)
	a.tag(ctx, b, acting)
	a.publish(ctx, b, acting)

	var out []string
	for _, r := range acting {
		if why, ok := b.failed[r.ID]; ok {
			a.log.Warn("record failed; Lambda delivers it again", slog.String("record", r.ID), slog.String("id", r.PushID), slog.String("scene", r.Scene), slog.String("reason", why))
			out = append(out, r.ID)
			out = append(out, twins[r.PushID]...)
		}
	}
	return out
}

func ids(recs []qr.ScanRecord) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// halt says why no WeChat call should start now ("" when one may): WeChat
// failed in this batch, or the invocation's deadline is near.
func (a *Actions) halt(ctx context.Context, b *batch) string {
	if b.down.Load() {
		return "WeChat is not answering in this batch"
	}
	if d, ok := ctx.Deadline(); ok && time.Until(d) < a.cfg.Reserve {
		return "the invocation's time is nearly up"
	}
	if ctx.Err() != nil {
		return "the invocation was cancelled"
	}
	return ""
}

// call runs f with the account's token, and once more with a fresh one when
// WeChat rejects the token (refreshed only if no one replaced it already).
func (a *Actions) call(ctx context.Context, f func(token string) error) error {
	tok, err := a.tokens.Token(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", errNoToken, err)
	}
	err = f(tok)
	if !wechat.IsTokenError(err) {
		return err
	}
	a.log.Warn("access token rejected; refreshing once", slog.String("error", err.Error()))
	if tok, err = a.tokens.Invalidate(ctx, tok); err != nil {
		return fmt.Errorf("%w: %w", errNoToken, err)
	}
	return f(tok)
}

// errNoToken: no access token could be had, so nothing was sent.
var errNoToken = errors.New("actions: no access token")

// unwell reports a failure that says WeChat (or the way to it) is not
// answering properly right now, as opposed to an answer about this request.
func unwell(err error) bool {
	if err == nil {
		return false
	}
	if wechat.IsBusy(err) {
		return true
	}
	var he *wechat.HTTPError
	if errors.As(err, &he) {
		return he.StatusCode >= 500 || he.StatusCode == 429
	}
	_, api := wechat.ErrCode(err)
	return !api && !errors.Is(err, wechat.ErrInvalidRequest) && !errors.Is(err, wechat.ErrInvalidResponse)
}
