// Package qr holds the domain of parametric QR codes: scenes, the replies they give,
// the pushes WeChat sends when they are scanned, and the claims that make each push
// count once. It imports nothing but the standard library; storage lives elsewhere.
package qr

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Reply types a scene can answer with.
const (
	ReplyText  = "text"
	ReplyNews  = "news"
	ReplyImage = "image"
)

// Limits on replies. WeChat cuts a text reply at 2048 bytes; since 2018 it shows
// only one article of a news reply (docs/wechat.md §6), so we store only one.
const (
	MaxTextBytes    = 2048
	MaxArticles     = 1
	MaxMediaIDBytes = 128
	MaxURLBytes     = 1024
	MaxTitleBytes   = 64
	MaxDescBytes    = 256
)

// Reply is what scanning a scene answers. Exactly one of Content, Articles or MediaID
// is set, according to Type.
type Reply struct {
	Type     string    `json:"type"`
	Content  string    `json:"content,omitempty"`
	Articles []Article `json:"articles,omitempty"`
	MediaID  string    `json:"media_id,omitempty"`
}

// Article is one item of a news reply.
type Article struct {
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	PicURL      string `json:"pic_url,omitempty"`
	URL         string `json:"url,omitempty"`
}

// TextReply is a convenience for the common case.
func TextReply(content string) *Reply { return &Reply{Type: ReplyText, Content: content} }

// Validate reports the first way r breaks the platform's rules, naming the field.
func (r *Reply) Validate() error { return r.ValidateAs("reply") }

// ValidateAs is Validate with the reply's place in the request (a follow-up's
// is "followups[1]") as the start of the field names its errors give.
func (r *Reply) ValidateAs(name string) error {
	switch r.Type {
	case ReplyText:
		if r.Content == "" {
			return Errorf(EInvalid, "%s.content: a text reply needs 1 to %d bytes of content", name, MaxTextBytes)
		}
		if len(r.Content) > MaxTextBytes {
			return Errorf(EInvalid, "%s.content: %d bytes is over WeChat's limit of %d", name, len(r.Content), MaxTextBytes)
		}
		if !utf8.ValidString(r.Content) {
			return Errorf(EInvalid, "%s.content: not valid UTF-8", name)
		}
		if len(r.Articles) > 0 || r.MediaID != "" {
			return Errorf(EInvalid, "%s: a text reply takes only content", name)
		}
	case ReplyNews:
		if len(r.Articles) != MaxArticles {
			return Errorf(EInvalid, "%s.articles: a news reply carries exactly %d article (WeChat shows no more since 2018-10-12)", name, MaxArticles)
		}
		for i, a := range r.Articles {
			if err := a.validate(name, i); err != nil {
				return err
			}
		}
		if r.Content != "" || r.MediaID != "" {
			return Errorf(EInvalid, "%s: a news reply takes only articles", name)
		}
	case ReplyImage:
		if r.MediaID == "" || len(r.MediaID) > MaxMediaIDBytes {
			return Errorf(EInvalid, "%s.media_id: an image reply needs the media_id (1 to %d bytes) of an uploaded image", name, MaxMediaIDBytes)
		}
		if r.Content != "" || len(r.Articles) > 0 {
			return Errorf(EInvalid, "%s: an image reply takes only media_id", name)
		}
	case "":
		return Errorf(EInvalid, "%s.type: required, one of text, news, image", name)
	default:
		return Errorf(EInvalid, "%s.type: %q is not one of text, news, image", name, r.Type)
	}
	return nil
}

func (a Article) validate(name string, i int) error {
	field := func(f string) string { return fmt.Sprintf("%s.articles[%d].%s", name, i, f) }
	switch {
	case a.Title == "" || len(a.Title) > MaxTitleBytes:
		return Errorf(EInvalid, "%s: required, 1 to %d bytes", field("title"), MaxTitleBytes)
	case len(a.Description) > MaxDescBytes:
		return Errorf(EInvalid, "%s: at most %d bytes", field("description"), MaxDescBytes)
	case len(a.PicURL) > MaxURLBytes || len(a.URL) > MaxURLBytes:
		return Errorf(EInvalid, "%s: URLs are at most %d bytes", field("url"), MaxURLBytes)
	}
	return nil
}

// Limits on a scene's actions (docs/wechat.md §12): a WeChat tag name is at
// most 30 bytes; after a scan WeChat lets an account send 3 customer-service
// messages within a minute.
const (
	MaxTagBytes  = 30
	MaxFollowups = 3
)

// ValidateTag checks a tag name a scene gives its scanners: 1 to 30 bytes of
// UTF-8, printable, without surrounding spaces (WeChat would show them, and two
// tags differing only by them are indistinguishable to an operator).
func ValidateTag(tag string) error {
	switch {
	case tag == "":
		return Errorf(EInvalid, "tag: 1 to %d bytes; omit it for no tag", MaxTagBytes)
	case len(tag) > MaxTagBytes:
		return Errorf(EInvalid, "tag: %d bytes is over WeChat's limit of %d (10 Chinese characters)", len(tag), MaxTagBytes)
	case !utf8.ValidString(tag):
		return Errorf(EInvalid, "tag: not valid UTF-8")
	case strings.TrimSpace(tag) != tag:
		return Errorf(EInvalid, "tag: no leading or trailing spaces")
	}
	for _, c := range tag {
		// U+2028 and U+2029: Go's JSON encoder escapes them, and WeChat refuses \u escapes.
		if unicode.IsControl(c) || c == '\u2028' || c == '\u2029' || (!unicode.IsPrint(c) && c != ' ') {
			return Errorf(EInvalid, "tag: the character %q is not allowed in a tag name", c)
		}
	}
	return nil
}

// ValidateFollowups checks a scene's follow-up messages: at most 3, each a valid reply.
func ValidateFollowups(fs []Reply) error {
	if len(fs) > MaxFollowups {
		return Errorf(EInvalid, "followups: %d messages; WeChat delivers at most %d customer-service messages after a scan", len(fs), MaxFollowups)
	}
	for i := range fs {
		if err := fs[i].ValidateAs(fmt.Sprintf("followups[%d]", i)); err != nil {
			return err
		}
	}
	return nil
}

// Code is a scene's mapping: the code WeChat created for it and the reply it gives.
type Code struct {
	Scene         string
	ActionName    string
	Ticket        string
	URL           string
	Permanent     bool
	Reply         *Reply
	Tag           string  // a WeChat tag given to everyone who scans the code; "" for none
	Followups     []Reply // customer-service messages sent after a counted scan, in order
	CreatedAt     time.Time
	ExpireSeconds int64     // the lifetime WeChat gave a temporary code; 0 for permanent ones
	ExpiresAt     time.Time // zero for permanent codes
}

// Expired reports whether a temporary code has run out at now. DynamoDB deletes
// expired items only eventually, so readers must check.
func (c *Code) Expired(now time.Time) bool {
	return !c.Permanent && !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt)
}

// LoginPrefix starts every log-in session's scene, so the callback tells them
// from codes; POST /qrcodes refuses scenes that start with it.
const LoginPrefix = "login:"

// MaxPermanentCodes is how many permanent codes WeChat lets one account hold.
const MaxPermanentCodes = 100000

// Events a push can carry that this product acts on.
const (
	EventSubscribe   = "subscribe"
	EventScan        = "SCAN"
	EventUnsubscribe = "unsubscribe"
)

// Scan is one first delivery of a push worth recording: a scene scanned (through
// subscribe or SCAN), a follow through no code, or a follower leaving.
type Scan struct {
	Scene  string // empty for a plain follow and for unsubscribe
	OpenID string
	Event  string
	At     time.Time // the push's CreateTime
	// Unique and UniqueToday: as far as the lookup saw, OpenID never scanned Scene
	// before, or not on this statistics day. The store checks them again
	// atomically (a concurrent first scan may win).
	Unique, UniqueToday bool
	// Register: the scene is not yet in the list of scenes with statistics.
	Register bool
	// SeenUntil: when the all-time marker the lookup saw expires (zero: none seen,
	// or one written before markers expired). The store rewrites a marker that
	// would expire before long with this scan's retention, so a follower who keeps
	// scanning a scene keeps counting once.
	SeenUntil time.Time
	// Source is, for unsubscribe, the scene whose subscribe brought the follower,
	// which the unsubscribe is charged to; empty when they came through no code.
	Source string
}

// Lookup names what handling one push needs to read.
type Lookup struct {
	PushKey string
	Scene   string // empty when the push names no scene
	OpenID  string
	Event   string
	At      time.Time // the push's CreateTime, whose day the daily marker is for
	// Signed, for a plain push, has the lookup read its signature's record too.
	Signed *SignedBody
}

// PushState is what a Lookup found, read in one round trip.
type PushState struct {
	Code       *Code     // the scene's mapping; nil when it has none
	Claim      *Claim    // an earlier delivery's claim; nil on the first delivery
	Seen       bool      // OpenID scanned Scene before
	SeenUntil  time.Time // when that all-time marker expires (zero: no expiry stored)
	SeenToday  bool      // OpenID scanned Scene on the push's statistics day
	Registered bool      // Scene has statistics already
	Source     string    // for unsubscribe: the scene that brought the follower
	// SignatureReused: Lookup.Signed's signature was recorded with another body.
	SignatureReused bool
}

// Claim marks a push as handled. The first delivery writes it together with the
// push's counts; every later delivery of the same push finds it and answers Reply,
// so retries get the same bytes and count nothing.
type Claim struct {
	Key    string
	OpenID string // the follower who pushed it; the store files the claim under them
	// Reply is what the caller needs to answer a retry with the same bytes; the
	// callback stores the reply without the parts the push itself gives back
	// (the openid, the account), so a claim holds no openid in its bytes.
	Reply []byte
	At    time.Time
	// Signed, for a plain push, is its query signature and its body's hash: the
	// store records it with the claim and writes nothing, returning
	// ErrSignatureReused, when the signature was recorded with another body.
	Signed *SignedBody
}

// SignedBody ties a plain push's query signature, which covers the Token,
// timestamp and nonce but not the body, to the body it was first served with:
// inside the timestamp window the signature serves that body only.
type SignedBody struct {
	Signature string   // the query's signature parameter
	Body      [32]byte // SHA-256 of the body as received
	// Until is when the record may go: after the timestamp window, when the
	// signature is refused anyway.
	Until time.Time
}

// ErrSignatureReused is a plain push whose query signature was already served
// with another body: a genuine query carrying a forged body.
var ErrSignatureReused = errors.New("the query signature was already served with another body")

// Counts are a scene's counters over some period.
type Counts struct {
	Scans        int64 `json:"scans"`        // every SCAN and every subscribe through the scene
	Subscribes   int64 `json:"subscribes"`   // new followers through the scene
	UniqueUsers  int64 `json:"unique_users"` // distinct openids that scanned it (all time; per day in a day's bucket)
	Unsubscribes int64 `json:"unsubscribes"` // followers it brought who later left
}

// Add adds o to c.
func (c *Counts) Add(o Counts) {
	c.Scans += o.Scans
	c.Subscribes += o.Subscribes
	c.UniqueUsers += o.UniqueUsers
	c.Unsubscribes += o.Unsubscribes
}

// ActionCounts are what a scene's actions did after its counted scans.
type ActionCounts struct {
	Tagged           int64 `json:"tagged"`            // scans whose follower got the scene's tag
	TagFailed        int64 `json:"tag_failed"`        // scans whose tagging WeChat refused for good (limits, bad openid)
	FollowupsSent    int64 `json:"followups_sent"`    // follow-up messages WeChat accepted
	FollowupsSkipped int64 `json:"followups_skipped"` // not sent: too late for the scan's window, or after a refusal
	FollowupsFailed  int64 `json:"followups_failed"`  // refused by WeChat (45015, 45047, …) or lost in an unanswered send
}

// Day is one day's counts, the day in China Standard Time (UTC+8), as WeChat's own
// statistics count days.
type Day struct {
	Date string `json:"date"` // YYYY-MM-DD
	Counts
}

// Stats are a scene's totals and, for a requested period, its days.
type Stats struct {
	Scene  string `json:"scene"`
	Totals Counts `json:"totals"`
	Days   []Day  `json:"days"`
}

// ChinaTime is the zone of WeChat's statistics days.
var ChinaTime = time.FixedZone("UTC+8", 8*60*60)

// DayOf is the statistics day of t.
func DayOf(t time.Time) string { return t.In(ChinaTime).Format(time.DateOnly) }

// Log-in session statuses.
const (
	SessionPending = "pending" // waiting for a scan
	SessionScanned = "scanned" // bound to the first user who scanned it
	SessionExpired = "expired" // its code ran out unscanned
)

// Session is a scan-to-log-in session: a one-time temporary code whose first
// scanner it binds.
type Session struct {
	ID        string
	Scene     string // LoginPrefix + ID
	Ticket    string
	URL       string
	Status    string // pending or scanned as stored; see StatusAt
	OpenID    string
	ScannedAt time.Time
	CreatedAt time.Time
	ExpiresAt time.Time
}

// StatusAt is the session's status at now: a pending session past its expiry is expired.
func (s *Session) StatusAt(now time.Time) string {
	if s.Status == SessionPending && !now.Before(s.ExpiresAt) {
		return SessionExpired
	}
	return s.Status
}

// What scanning a log-in code came to.
const (
	LoginBound   = "bound"   // this scan bound the session
	LoginUsed    = "used"    // someone scanned it first
	LoginExpired = "expired" // the session ran out (or never existed)
)

// Kinds of items erasing a follower deletes (DELETE /users/{openid}). A kind a
// later item adds under the follower is reported under its own name.
const (
	ErasedScanRecords = "scan_records" // scans, follows and leavings (each also its push's claim)
	ErasedClaims      = "claims"       // claims that record nothing else (a bound log-in)
	ErasedSources     = "sources"      // the scene that brought the follower
	ErasedMarkers     = "markers"      // "scanned this scene" markers, all time and per day
	ErasedSessions    = "sessions"     // log-in sessions the follower bound
)

// Erased counts, by kind, the items erasing a follower deleted.
type Erased map[string]int
