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
	"strings"
	"time"

	"wechatqr/shared/qr"
)

// kind says what a record asks for.
type kind int

const (
	kindNone        kind = iota // act on nothing, publish nothing
	kindScan                    // a counted scan: tag, follow-ups, event
	kindUnsubscribe             // an event only
)

func kindOf(r qr.ScanRecord) kind {
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
	AppID       string    `json:"appid"` // the account whose follower scanned
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

func eventOf(r qr.ScanRecord) Event {
	e := Event{DetailType: TypeScan, ID: r.PushID, AppID: r.AppID, Scene: r.Scene, OpenID: r.OpenID, Event: r.Event, At: r.At.UTC(), NewFollower: r.Event == qr.EventSubscribe}
	if r.Event == qr.EventUnsubscribe {
		e.DetailType = TypeUnsubscribe
	}
	return e
}
