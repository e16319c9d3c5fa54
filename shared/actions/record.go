// Package actions does what a counted scan asks for after its passive reply: it
// gives the follower the scene's WeChat tag, sends the scene's follow-up messages
// as customer-service messages, and publishes the scan as an event. It runs on the
// events table's stream, off the callback's 5-second path, and imports no AWS
// package: storage, WeChat and the event bus come in through small interfaces.
//
// What acts on what:
//
//	subscribe through a code, SCAN   tag, follow-ups, event "Scan"
//	unsubscribe                      event "Unsubscribe" (nothing to send: WeChat refuses messages to a leaver)
//	subscribe through no code        nothing (no scene to act for, nothing to attribute)
//	log-in scenes (login:…)          nothing (the callback never records them under their scene; skipped if one appears)
package actions

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"wechatqr/shared/qr"
)

// Record is one scan record as the callback wrote it, read from the events
// table's stream: the push's claim, which for a scan, a follow or a leaving is
// also its record (pk=user#<openid>, sk=RecordKey(at, event, scene), with the
// attributes scene, openid, event and at).
type Record struct {
	// ID identifies the record in its batch: the stream's sequence number, which
	// the function reports back for a record that failed.
	ID     string
	SK     string // the record's sort key, which names the push
	Scene  string // "" for unsubscribe and for a follow through no code
	OpenID string
	Event  string
	At     time.Time // the push's CreateTime
}

// PushID is the record's stable id: a hash of its key. Only the first delivery
// of a push writes the record, so every delivery of the stream record, and every
// retry of it, has the same id.
func (r Record) PushID() string {
	h := sha256.Sum256([]byte("user#" + r.OpenID + "\x00" + r.SK))
	return hex.EncodeToString(h[:16])
}

// RecordPrefix starts the sort key of every push claim that records an event;
// messages' claims start "push#msg:".
const RecordPrefix = "push#event:"

// RecordKey is the sort key the callback gives the record of an event pushed at
// at (its CreateTime) through scene: the push's dedupe key without the openid,
// which the partition names (shared/dynamo claimKey). Its EventKey is
// "qrscene_<scene>" for a subscribe through a code, the scene for SCAN, and
// empty for a follow through no code and for unsubscribe.
func RecordKey(at int64, event, scene string) string {
	eventKey := scene
	if event == qr.EventSubscribe && scene != "" {
		eventKey = "qrscene_" + scene
	}
	return RecordPrefix + strconv.FormatInt(at, 10) + "|" + event + "|" + eventKey
}

// Push is the part of the record's key after "push#": what markers and claims of
// this push are keyed by, under the follower's partition.
func (r Record) Push() string { return strings.TrimPrefix(r.SK, "push#") }

// kind says what a record asks for.
type kind int

const (
	kindNone        kind = iota // act on nothing, publish nothing
	kindScan                    // a counted scan: tag, follow-ups, event
	kindUnsubscribe             // an event only
)

func (r Record) kind() kind {
	switch {
	case r.Event == qr.EventUnsubscribe:
		return kindUnsubscribe
	case r.Scene == "" || strings.HasPrefix(r.Scene, qr.LoginPrefix):
		return kindNone
	case r.Event == qr.EventSubscribe || r.Event == qr.EventScan:
		return kindScan
	}
	return kindNone
}

// Event is what the bus receives for a record: source "wechatqr", detail-type
// DetailType, and the rest as the detail.
type Event struct {
	DetailType  string    `json:"-"` // "Scan" or "Unsubscribe"
	ID          string    `json:"id"`
	Scene       string    `json:"scene"`
	OpenID      string    `json:"openid"`
	Event       string    `json:"event"`
	At          time.Time `json:"at"`
	NewFollower bool      `json:"new_follower"`
}

// Event detail-types and source.
const (
	Source          = "wechatqr"
	TypeScan        = "Scan"
	TypeUnsubscribe = "Unsubscribe"
)

func (r Record) event() Event {
	e := Event{DetailType: TypeScan, ID: r.PushID(), Scene: r.Scene, OpenID: r.OpenID, Event: r.Event, At: r.At.UTC(), NewFollower: r.Event == qr.EventSubscribe}
	if r.Event == qr.EventUnsubscribe {
		e.DetailType = TypeUnsubscribe
	}
	return e
}

// Progress is what earlier deliveries of a record did, as stored.
type Progress struct {
	Tagged    bool                  // the tag marker is written (tagged, or refused for good)
	Published bool                  // the event went to the bus
	Followups [qr.MaxFollowups]bool // each follow-up is claimed (sent, skipped, failed or in flight)
}

// Outcome settles a claimed follow-up whose send did not succeed.
type Outcome int

const (
	// Release deletes the claim: WeChat cannot have shown the message (errcode
	// -1, a 5xx, a connection never made, a token error), so a retry may send it.
	Release Outcome = iota
	// Refused keeps the claim and counts the message failed: WeChat said no
	// (45015, 45047, 40003, 48001, …); sending again would fail the same way.
	Refused
	// Unknown keeps the claim and counts the message failed: the request left and
	// no answer came (a timeout), so it may have been shown; never send it twice.
	Unknown
)

func (o Outcome) String() string {
	switch o {
	case Release:
		return "released"
	case Refused:
		return "refused"
	}
	return "unknown"
}
