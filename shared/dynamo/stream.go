package dynamo

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/shared/qr"
)

// ErrNotScanRecord: a stream record of the events table that is not a new scan
// record (a message's or a log-in's claim, a marker, a modification, a
// deletion). The template's FilterCriteria keep them from the scan actions; one
// that slips through is to be ignored, not failed.
var ErrNotScanRecord = errors.New("dynamo: not a new scan record")

// DecodeStreamRecord reads the scan record the callback wrote from one record
// of the events table's stream: its eventName, its Keys and its NewImage. It
// checks that the key and the attributes agree, as they always do when the
// store wrote the item, and derives the record's PushID from the key. The
// record's ID (the stream's sequence number) is the caller's to set.
//
// Errors: ErrNotScanRecord for a record that is none; any other error for a
// record that looks like one but cannot be (a corrupt or foreign item).
func DecodeStreamRecord(eventName string, keys, newImage map[string]types.AttributeValue) (qr.ScanRecord, error) {
	if eventName != "INSERT" {
		return qr.ScanRecord{}, ErrNotScanRecord
	}
	sk, ok := str(keys, attrSK)
	if !ok || !strings.HasPrefix(sk, recordPrefix) {
		return qr.ScanRecord{}, ErrNotScanRecord
	}
	if _, ok := newImage[attrEvent]; !ok && newImage != nil {
		return qr.ScanRecord{}, ErrNotScanRecord // the claim of a push that is no scan, follow or leaving (a log-in, a menu click)
	}
	pk, _ := str(keys, attrPK)
	openid, _ := str(newImage, attrOpenID)
	event, _ := str(newImage, attrEvent)
	scene, _ := str(newImage, attrScene)
	at, ok := num(newImage, attrAt)
	appID, pk, inAccount := splitNS(pk)
	switch {
	case newImage == nil:
		return qr.ScanRecord{}, errors.New("dynamo: no NewImage: the stream must carry new images")
	case !inAccount:
		return qr.ScanRecord{}, errors.New("dynamo: the record's key names no account")
	case openid == "" || pk != userPK(openid):
		// Neither the key nor the openid in the error: it is logged, and both name a follower.
		return qr.ScanRecord{}, errors.New("dynamo: the record's key does not belong to its openid")
	case event != qr.EventSubscribe && event != qr.EventScan && event != qr.EventUnsubscribe:
		return qr.ScanRecord{}, fmt.Errorf("dynamo: event %q is not one a scan record holds", event)
	case !ok || at <= 0:
		return qr.ScanRecord{}, errors.New("dynamo: no push time (at)")
	}
	r := qr.ScanRecord{AppID: appID, Scene: scene, OpenID: openid, Event: event, At: time.Unix(at, 0).UTC()}
	k := recordKey(openid, r.At, event, scene)
	if sk != k.SK {
		return qr.ScanRecord{}, errors.New("dynamo: the record's sort key does not match its attributes") // the key names the follower
	}
	if appID != "" {
		k.PK = accountNS(appID) + k.PK
	}
	r.PushID = pushID(k)
	return r, nil
}

// str reads a string attribute; a missing one or one of another type is "", false.
func str(m map[string]types.AttributeValue, name string) (string, bool) {
	v, ok := m[name].(*types.AttributeValueMemberS)
	if !ok || v == nil {
		return "", false
	}
	return v.Value, true
}

// num reads a whole-number attribute.
func num(m map[string]types.AttributeValue, name string) (int64, bool) {
	v, ok := m[name].(*types.AttributeValueMemberN)
	if !ok || v == nil {
		return 0, false
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	return n, err == nil
}
