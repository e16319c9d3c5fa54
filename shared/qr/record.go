package qr

import (
	"errors"
	"time"
)

// ScanRecord is a push the callback recorded (a scan, a follow or a leaving) as
// the events table's stream hands it to the actions. The store decodes it from
// the stream and derives PushID from the record's key.
type ScanRecord struct {
	// ID identifies the record in its batch: the stream's sequence number, which
	// the function reports back for a record that failed.
	ID string
	// AppID is the account whose callback wrote the record; "" is the default
	// account.
	AppID string
	// PushID is the push's stable id: every delivery of the stream record, and
	// every retry of it, has the same one. Markers and published events use it.
	PushID string
	Scene  string // "" for unsubscribe and for a follow through no code
	OpenID string
	Event  string
	At     time.Time // the push's CreateTime
}

// ActionProgress is what earlier deliveries of a scan record did, as stored.
type ActionProgress struct {
	Tagged    bool               // the tag marker is written (tagged, or refused for good)
	Published bool               // the event went to the bus
	Followups [MaxFollowups]bool // each follow-up is claimed (sent, skipped, failed or in flight)
	// Erased: the follower was erased (DELETE /users/{openid}) after this push;
	// the record must do nothing.
	Erased bool
}

// ErrFollowerErased: a write of the actions was refused because the follower
// was erased after the push (the erasure landed while the record was in flight).
// The record must do nothing more; it is not a failure to retry.
var ErrFollowerErased = errors.New("the follower was erased after this push")

// FollowupOutcome settles a claimed follow-up whose send did not succeed.
type FollowupOutcome int

const (
	// FollowupReleased deletes the claim: WeChat cannot have shown the message
	// (errcode -1, a 5xx, a connection never made, a token error), so a retry may
	// send it.
	FollowupReleased FollowupOutcome = iota
	// FollowupRefused keeps the claim and counts the message failed: WeChat said
	// no (45015, 45047, 40003, 48001, …); sending again would fail the same way.
	FollowupRefused
	// FollowupUnknown keeps the claim and counts the message failed: the request
	// left and no answer came (a timeout), so it may have been shown; never send
	// it twice.
	FollowupUnknown
)

func (o FollowupOutcome) String() string {
	switch o {
	case FollowupReleased:
		return "released"
	case FollowupRefused:
		return "refused"
	}
	return "unknown"
}

// AccessToken is the account's WeChat access token as stored. Version grows by
// one with every write, so writers compare and swap on it; 0 means nothing is
// stored.
type AccessToken struct {
	Token     string
	ExpiresAt time.Time
	Version   int64
}

// TokenHealth is how an account's token fares, as the Accounts page shows it:
// when the stored token was fetched and until when it is valid, and the last
// failure to fetch one since (cleared by the next success). It never holds the
// token.
type TokenHealth struct {
	RefreshedAt time.Time `json:"refreshed_at,omitzero"`
	ExpiresAt   time.Time `json:"expires_at,omitzero"`
	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}
