package dynamo

import (
	"testing"
	"time"

	"wechatqr/shared/qr"
)

// TestKeysAreTheStoredFormats pins every key this package builds to its stored
// form, spelled out: deployments upgrade in place over the items of the one
// before, so none may change.
func TestKeysAreTheStoredFormats(t *testing.T) {
	at := time.Unix(1732500000, 0)
	rec := qr.ScanRecord{Scene: "poster-bj", OpenID: "oUser-1", Event: qr.EventSubscribe, At: at}
	tests := []struct {
		name   string
		got    key
		pk, sk string
	}{
		{"a code", codeKey("poster-bj"), "scene#poster-bj", "code"},
		{"a registry entry", registryKey("poster-bj"), "scene#poster-bj", "registry"},
		{"a counter shard's totals", statsKey("poster-bj", 7, ""), "stats#poster-bj#7", "total"},
		{"a counter shard's day", statsKey("poster-bj", 0, "2024-11-25"), "stats#poster-bj#0", "day#2024-11-25"},
		{"an all-time seen marker", seenKey("poster-bj", "oUser-1", ""), "seen#poster-bj#oUser-1", "all"},
		{"a day's seen marker", seenKey("poster-bj", "oUser-1", "2024-11-25"), "seen#poster-bj#oUser-1", "day#2024-11-25"},
		{"a log-in session", sessionKey("ABC"), "login#ABC", "session"},
		{"the permanent-code count", quotaKey, "account#quota", "permanent"},
		{"an action counter shard", actionsKey("poster-bj", 3), "actions#poster-bj#3", "total"},
		{"a tag's id", tagIDKey("北京海报"), "tag#北京海报", "id"},
		{"a plain push's signature", signatureKey("0c8b34cbbb6c5ad2a4d4d4ae1e3c6c6f5e1f0a9b"), "sig#0c8b34cbbb6c5ad2a4d4d4ae1e3c6c6f5e1f0a9b", "body"},
		{"a follower's source", sourceKey("oUser-1"), "user#oUser-1", "source"},
		{"an event's claim", claimKey("oUser-1", "event:oUser-1|1732500000|SCAN|poster-bj"), "user#oUser-1", "push#event:1732500000|SCAN|poster-bj"},
		{"a message's claim", claimKey("oUser-1", "msg:1234567890123456"), "user#oUser-1", "push#msg:1234567890123456"},
		{"a subscribe's record", recordKey("oUser-1", at, qr.EventSubscribe, "poster-bj"), "user#oUser-1", "push#event:1732500000|subscribe|qrscene_poster-bj"},
		{"a SCAN's record", recordKey("oUser-1", at, qr.EventScan, "poster-bj"), "user#oUser-1", "push#event:1732500000|SCAN|poster-bj"},
		{"a plain follow's record", recordKey("oUser-1", at, qr.EventSubscribe, ""), "user#oUser-1", "push#event:1732500000|subscribe|"},
		{"a leaving's record", recordKey("oUser-1", at, qr.EventUnsubscribe, ""), "user#oUser-1", "push#event:1732500000|unsubscribe|"},
		{"a tag marker", taggedKey(rec), "user#oUser-1", "tagged#event:1732500000|subscribe|qrscene_poster-bj"},
		{"a follow-up claim", followupKey(rec, 2), "user#oUser-1", "followup#event:1732500000|subscribe|qrscene_poster-bj#2"},
		{"a published marker", publishedKey(rec), "user#oUser-1", "published#event:1732500000|subscribe|qrscene_poster-bj"},
		{"an erased-follower marker", erasedKey("oUser-1"), "erased#6a0ee2c8039136b195745eaec5690dac31f415f662f53cb81f6d5d699a786ff6", "erased"},
	}
	for _, tt := range tests {
		if tt.got.PK != tt.pk || tt.got.SK != tt.sk {
			t.Errorf("%s: pk=%q sk=%q, want pk=%q sk=%q", tt.name, tt.got.PK, tt.got.SK, tt.pk, tt.sk)
		}
	}
	for _, tt := range []struct{ name, got, want string }{
		{"the token's key", tokenPK("wx5823bf96d3bd56c7"), "token#wx5823bf96d3bd56c7"},
		{"the platform's ticket", platformTicketPK, "platform#ticket"},
		{"the claim of api_start_push_ticket", platformStartPushPK, "platform#start-push-ticket"},
		{"an account's item", accountPK("wx5823bf96d3bd56c7"), "account#wx5823bf96d3bd56c7"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: pk=%q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

// TestRecordKeyIsTheClaimOfThePush: the record the stream decodes is keyed as
// the callback's claim of the push it records (claimKey of WeChat's dedupe
// key, "event:<openid>|<CreateTime>|<Event>|<EventKey>"), for each kind of record.
func TestRecordKeyIsTheClaimOfThePush(t *testing.T) {
	at := time.Unix(1732500000, 0)
	for _, tt := range []struct{ event, scene, dedupe string }{
		{qr.EventSubscribe, "poster-bj", "event:o1|1732500000|subscribe|qrscene_poster-bj"},
		{qr.EventScan, "poster-bj", "event:o1|1732500000|SCAN|poster-bj"},
		{qr.EventSubscribe, "", "event:o1|1732500000|subscribe|"},
		{qr.EventUnsubscribe, "", "event:o1|1732500000|unsubscribe|"},
	} {
		if r, c := recordKey("o1", at, tt.event, tt.scene), claimKey("o1", tt.dedupe); r != c {
			t.Errorf("%s %q: record key %+v, claim key %+v", tt.event, tt.scene, r, c)
		}
	}
}

// TestPushIDNeverChanges: the push id is the id of the events published on the
// bus, which consumers dedupe on; it must stay byte-identical across releases.
func TestPushIDNeverChanges(t *testing.T) {
	k := recordKey("oUser-1", time.Unix(1732500000, 0), qr.EventSubscribe, "poster-bj")
	if id := pushID(k); id != "64da5f7ea3023bf13122f7223fea14a8" {
		t.Errorf("pushID = %s, want 64da5f7ea3023bf13122f7223fea14a8 (sha256 of user#oUser-1\\x00push#event:1732500000|subscribe|qrscene_poster-bj, 16 bytes in hex)", id)
	}
}
