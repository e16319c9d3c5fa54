package wechat

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// InfoType values of the pushes to a third-party platform's
// authorization-event URL (§13.1).
const (
	InfoVerifyTicket     = "component_verify_ticket" // every 10 minutes: the ticket for ComponentToken
	InfoAuthorized       = "authorized"              // an account authorized the platform
	InfoUpdateAuthorized = "updateauthorized"        // an account changed the permission sets it grants
	InfoUnauthorized     = "unauthorized"            // an account revoked its authorization
)

// MaxComponentEventSize bounds the decrypted XML ParseComponentEvent
// reads. WeChat's events are a few hundred bytes; the cap keeps a hostile
// or broken body from costing more than a glance.
const MaxComponentEventSize = 16 << 10

// ErrUnknownInfoType: a push to the authorization-event URL whose InfoType
// is none of the Info constants. WeChat sends others to platforms that
// manage mini programs; answer "success" and ignore it.
var ErrUnknownInfoType = errors.New("wechat: unknown InfoType")

// ComponentEvent is a decrypted push to the authorization-event URL
// (§13.1). Which fields are set depends on InfoType.
type ComponentEvent struct {
	AppID      string // the component AppID
	CreateTime int64  // Unix seconds
	InfoType   string // one of the Info constants

	// ComponentVerifyTicket is InfoVerifyTicket's ticket: keep the newest
	// (each is valid 12 hours).
	ComponentVerifyTicket string

	// AuthorizerAppID is the account of an authorized, updateauthorized
	// or unauthorized push.
	AuthorizerAppID string
	// AuthorizationCode is the code for QueryAuth (authorized and
	// updateauthorized).
	AuthorizationCode string
	// AuthorizationCodeExpiredTime is when the code expires, in Unix
	// seconds (observed CreateTime+3600, §13.1); 0 when absent.
	AuthorizationCodeExpiredTime int64
	// PreAuthCode is the pre-authorization code of the page the
	// administrator used; "" when absent.
	PreAuthCode string
}

// xmlComponentEvent is the wire shape. AuthorizationCodeExpiredTime comes
// in CDATA (§13.1), so it is read as text and parsed here.
type xmlComponentEvent struct {
	XMLName                      xml.Name `xml:"xml"`
	AppID                        string   `xml:"AppId"`
	CreateTime                   int64    `xml:"CreateTime"`
	InfoType                     string   `xml:"InfoType"`
	ComponentVerifyTicket        string   `xml:"ComponentVerifyTicket"`
	AuthorizerAppID              string   `xml:"AuthorizerAppid"`
	AuthorizationCode            string   `xml:"AuthorizationCode"`
	AuthorizationCodeExpiredTime string   `xml:"AuthorizationCodeExpiredTime"`
	PreAuthCode                  string   `xml:"PreAuthCode"`
}

// ParseComponentEvent parses the decrypted XML of a push to the
// authorization-event URL (§13.1): what Verifier.Decrypt returns for the
// envelope's Encrypt text, the platform's Token, EncodingAESKey and
// component AppID being the keys.
//
// Unlike ParseMessage, it checks what it returns, because each InfoType
// drives an action (store a ticket, exchange a code, revoke an account):
// AppId, a positive CreateTime and InfoType are required everywhere, the
// ticket for InfoVerifyTicket, AuthorizerAppid and AuthorizationCode for
// InfoAuthorized and InfoUpdateAuthorized, AuthorizerAppid for
// InfoUnauthorized. A missing field, XML encoding/xml refuses, a body over
// MaxComponentEventSize, or an AuthorizationCodeExpiredTime that is not
// decimal fail with ErrMalformed. An unknown InfoType fails with
// ErrUnknownInfoType, the event being returned as parsed so that the caller
// can log its InfoType.
func ParseComponentEvent(plaintextXML []byte) (ComponentEvent, error) {
	if len(plaintextXML) > MaxComponentEventSize {
		return ComponentEvent{}, fmt.Errorf("%w: component event of %d bytes, more than %d", ErrMalformed, len(plaintextXML), MaxComponentEventSize)
	}
	var x xmlComponentEvent
	if err := xml.Unmarshal(plaintextXML, &x); err != nil {
		return ComponentEvent{}, fmt.Errorf("%w: component event: %w", ErrMalformed, err)
	}
	ev := ComponentEvent{
		AppID: x.AppID, CreateTime: x.CreateTime, InfoType: x.InfoType,
		ComponentVerifyTicket: x.ComponentVerifyTicket,
		AuthorizerAppID:       x.AuthorizerAppID, AuthorizationCode: x.AuthorizationCode,
		PreAuthCode: x.PreAuthCode,
	}
	if s := strings.TrimSpace(x.AuthorizationCodeExpiredTime); s != "" {
		t, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return ComponentEvent{}, fmt.Errorf("%w: component event: AuthorizationCodeExpiredTime %q is not Unix seconds", ErrMalformed, s)
		}
		ev.AuthorizationCodeExpiredTime = t
	}
	missing := func(name string) (ComponentEvent, error) {
		return ComponentEvent{}, fmt.Errorf("%w: component event %q without %s", ErrMalformed, ev.InfoType, name)
	}
	switch {
	case ev.InfoType == "":
		return missing("InfoType")
	case ev.AppID == "":
		return missing("AppId")
	case ev.CreateTime <= 0:
		return missing("CreateTime")
	}
	switch ev.InfoType {
	case InfoVerifyTicket:
		if ev.ComponentVerifyTicket == "" {
			return missing("ComponentVerifyTicket")
		}
	case InfoAuthorized, InfoUpdateAuthorized:
		if ev.AuthorizerAppID == "" {
			return missing("AuthorizerAppid")
		}
		if ev.AuthorizationCode == "" {
			return missing("AuthorizationCode")
		}
	case InfoUnauthorized:
		if ev.AuthorizerAppID == "" {
			return missing("AuthorizerAppid")
		}
	default:
		return ev, fmt.Errorf("%w %q", ErrUnknownInfoType, ev.InfoType)
	}
	return ev, nil
}
