package dynamo

import (
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/shared/qr"
)

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }

// scanImage is a SCAN's record as the store writes it: its key and its new image.
func scanImage() (keys, img map[string]types.AttributeValue) {
	keys = map[string]types.AttributeValue{"pk": s("user#oUser-1"), "sk": s("push#event:1732500000|SCAN|poster-bj")}
	img = maps.Clone(keys)
	img["openid"], img["event"], img["scene"], img["at"] = s("oUser-1"), s("SCAN"), s("poster-bj"), n("1732500000")
	img["reply"], img["expire_at"] = &types.AttributeValueMemberB{Value: []byte("<xml/>")}, n("1767060000")
	return keys, img
}

func TestDecodeStreamRecordReadsARecord(t *testing.T) {
	keys, img := scanImage()
	got, err := DecodeStreamRecord("INSERT", keys, img)
	want := qr.ScanRecord{PushID: pushID(key{"user#oUser-1", "push#event:1732500000|SCAN|poster-bj"}), Scene: "poster-bj", OpenID: "oUser-1", Event: "SCAN", At: time.Unix(1732500000, 0).UTC()}
	if err != nil || got != want {
		t.Fatalf("decode = %+v, %v; want %+v", got, err, want)
	}
}

// A record of another account than the default names it in its key: the
// decoded record carries its AppID, and its PushID differs from the same push's
// in the default account.
func TestDecodeStreamRecordNamesTheAccount(t *testing.T) {
	keys, img := scanImage()
	keys["pk"] = s("app#wx1111111111111111#user#oUser-1")
	got, err := DecodeStreamRecord("INSERT", keys, img)
	if err != nil {
		t.Fatal(err)
	}
	dk, di := scanImage()
	def, _ := DecodeStreamRecord("INSERT", dk, di)
	if got.AppID != "wx1111111111111111" || got.PushID == def.PushID || got.PushID != pushID(key{"app#wx1111111111111111#user#oUser-1", "push#event:1732500000|SCAN|poster-bj"}) {
		t.Errorf("decode = %+v; want AppID wx1111111111111111 and the PushID of its own key (default's %s)", got, def.PushID)
	}
	for _, pk := range []string{"app#", "app#wx1111111111111111", "app##user#oUser-1", "app#wx1111111111111111#user#oUser-2"} {
		keys["pk"] = s(pk)
		if _, err := DecodeStreamRecord("INSERT", keys, img); err == nil || errors.Is(err, ErrNotScanRecord) {
			t.Errorf("pk %q: %v, want a record refused as corrupt", pk, err)
		}
	}
}

// TestDecodeStreamRecordRefusesWhatTheStoreDidNotWrite: what is not a new scan
// record is ErrNotScanRecord (ignored); what looks like one but whose key and
// attributes disagree is another error (failed, for a person to look at).
func TestDecodeStreamRecordRefusesWhatTheStoreDidNotWrite(t *testing.T) {
	tests := []struct {
		name    string
		event   string
		change  func(keys, img map[string]types.AttributeValue)
		notScan bool
	}{
		{"a modification", "MODIFY", nil, true},
		{"a deletion", "REMOVE", func(_, img map[string]types.AttributeValue) { clear(img) }, true},
		{"a message's claim", "INSERT", func(k, img map[string]types.AttributeValue) {
			k["sk"], img["sk"] = s("push#msg:1234567890123456"), s("push#msg:1234567890123456")
		}, true},
		{"a log-in's claim (no event)", "INSERT", func(_, img map[string]types.AttributeValue) { delete(img, "event"); img["login"] = s("ABC") }, true},
		{"a follow-up claim", "INSERT", func(k, _ map[string]types.AttributeValue) { k["sk"] = s("followup#event:1732500000|SCAN|poster-bj#0") }, true},
		{"a source", "INSERT", func(k, _ map[string]types.AttributeValue) { k["sk"] = s("source") }, true},
		{"sk a number", "INSERT", func(k, _ map[string]types.AttributeValue) { k["sk"] = n("1") }, true},
		{"another user's key", "INSERT", func(k, _ map[string]types.AttributeValue) { k["pk"] = s("user#oUser-2") }, false},
		{"another scene", "INSERT", func(_, img map[string]types.AttributeValue) { img["scene"] = s("poster-sh") }, false},
		{"another time", "INSERT", func(_, img map[string]types.AttributeValue) { img["at"] = n("1732500001") }, false},
		{"time a string", "INSERT", func(_, img map[string]types.AttributeValue) { img["at"] = s("1732500000") }, false},
		{"time not whole", "INSERT", func(_, img map[string]types.AttributeValue) { img["at"] = n("1732500000.5") }, false},
		{"openid a number", "INSERT", func(_, img map[string]types.AttributeValue) { img["openid"] = n("1") }, false},
		{"openid a nil value", "INSERT", func(_, img map[string]types.AttributeValue) { img["openid"] = (*types.AttributeValueMemberS)(nil) }, false},
		{"an event no record holds", "INSERT", func(_, img map[string]types.AttributeValue) { img["event"] = s("CLICK") }, false},
		{"no new image", "INSERT", func(_, img map[string]types.AttributeValue) { clear(img) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, img := scanImage()
			if tt.change != nil {
				tt.change(keys, img)
			}
			if len(img) == 0 {
				img = nil
			}
			_, err := DecodeStreamRecord(tt.event, keys, img)
			if err == nil || errors.Is(err, ErrNotScanRecord) != tt.notScan {
				t.Errorf("decode: %v, want notScan=%v", err, tt.notScan)
			}
		})
	}
}
