package dynamo

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/shared/qr"
)

// Every item key this package reads or writes is built in this file, from the
// constants below; the package doc's table lists the items. The formats are
// stored: a deployment upgrades in place over the items of the one before, so
// a format never changes, it is only added to (TestKeysAreTheStoredFormats).
// template.yaml's stream filter repeats recordPrefix and attrEvent;
// TestTheStreamCarriesWhatTheStoreWrote holds the two together.

// The attributes every item has, and the TTL attribute (template.yaml's
// KeySchema and TimeToLiveSpecification).
const (
	attrPK       = "pk"
	attrSK       = "sk"
	attrExpireAt = "expire_at"
)

// Conditions on an item's existence, for a conditional write.
const (
	absent  = "attribute_not_exists(" + attrPK + ")"
	present = "attribute_exists(" + attrPK + ")"
)

// The attributes of a push's claim that the stream's consumer reads: a claim
// that records a scan, a follow or a leaving has event (the filter keeps those),
// openid, at and, through a code, scene; a bound log-in's has login instead.
const (
	attrScene  = "scene"
	attrOpenID = "openid"
	attrEvent  = "event"
	attrAt     = "at"
	attrLogin  = "login"
)

// attrErasedAt is the erased-follower marker's cutoff (Unix seconds): the
// follower's pushes made at or before it were erased.
const attrErasedAt = "erased_at"

// Partition key prefixes and sort keys.
const (
	prefixScene   = "scene#"   // scenes: a scene's code and registry entry
	prefixStats   = "stats#"   // scenes: a shard of a scene's counters
	prefixSeen    = "seen#"    // scenes: a follower scanned a scene
	prefixLogin   = "login#"   // scenes: a log-in session
	prefixActions = "actions#" // scenes: a shard of a scene's action counters
	prefixTag     = "tag#"     // scenes: a WeChat tag's id
	prefixUser    = "user#"    // events: everything naming one follower
	prefixToken   = "token#"   // tokens: an account's access token
	prefixErased  = "erased#"  // events: a follower was erased: erased#<SHA-256 of the openid, hex>
	prefixSig     = "sig#"     // events: a plain push's query signature

	skCode     = "code"
	skRegistry = "registry"
	skSession  = "session"
	skTotal    = "total" // a counter shard's totals
	skTagID    = "id"
	skAll      = "all"  // the all-time seen marker
	prefixDay  = "day#" // a day's counters, a day's seen marker: day#YYYY-MM-DD (UTC+8)
	skSource   = "source"
	skErased   = "erased"
	skBody     = "body" // a signature's body hash

	prefixPush      = "push#"       // a push's claim: push#<push>
	recordPrefix    = "push#event:" // the claim of an event: of a scan, a follow or a leaving also its record
	prefixTagged    = "tagged#"     // tagged#<push>: the push's follower was tagged
	prefixFollowup  = "followup#"   // followup#<push>#<i>: follow-up i is claimed
	prefixPublished = "published#"  // published#<push>: the push's event is on the bus
	prefixOldRecord = "scan#"       // a record written before claims became records (erased, never written)
)

// The ByCreated index: codes in partition listCodes, scenes with statistics in
// partition listScenes.
const (
	indexByCreated = "ByCreated"
	listCodes      = "code"
	listScenes     = "scene"
)

// prefixAccount starts the namespace of every account but the default one:
// each of its partition keys (and index partitions) is app#<appid>#<the key the
// default account's item has>. The default account's items keep the keys a
// single-account release wrote, so that a deployment upgrades in place. No
// earlier key starts with app#, and an AppID holds no #.
const prefixAccount = "app#"

// accountNS is the prefix of appID's partition keys.
func accountNS(appID string) string { return prefixAccount + appID + "#" }

// splitNS splits a partition key into its account's AppID ("" for the default
// account) and the key within the account.
func splitNS(pk string) (appID, rest string, ok bool) {
	rest, found := strings.CutPrefix(pk, prefixAccount)
	if !found {
		return "", pk, true
	}
	appID, rest, found = strings.Cut(rest, "#")
	if !found || appID == "" {
		return "", "", false
	}
	return appID, rest, true
}

// appIDOfNS is the AppID of namespace ns (accountNS's inverse).
func appIDOfNS(ns string) string {
	appID, _, _ := splitNS(ns)
	return appID
}

type key struct {
	PK string `dynamodbav:"pk"`
	SK string `dynamodbav:"sk"`
}

func (k key) av() map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK: &types.AttributeValueMemberS{Value: k.PK},
		attrSK: &types.AttributeValueMemberS{Value: k.SK},
	}
}

// quotaKey is the account's permanent-code count, under a key no scene can have
// (scene keys all start with scene#).
var quotaKey = key{"account#quota", "permanent"}

func codeKey(scene string) key     { return key{prefixScene + scene, skCode} }
func registryKey(scene string) key { return key{prefixScene + scene, skRegistry} }
func sessionKey(id string) key     { return key{prefixLogin + id, skSession} }
func tagIDKey(name string) key     { return key{prefixTag + name, skTagID} }
func userPK(openid string) string  { return prefixUser + openid }
func sourceKey(openid string) key  { return key{userPK(openid), skSource} }

// erasedKey marks that openid was erased. It names the follower only by the
// SHA-256 of the openid (as the erasure's answer and log line do): every reader
// holds the openid (a stream record's) and hashes it, so the marker keeps no
// openid. Its own partition prefix, not user#: a 64-character hex string is a
// well-formed openid, whose erasure must not delete another's marker.
func erasedKey(openid string) key {
	h := sha256.Sum256([]byte(openid))
	return key{prefixErased + hex.EncodeToString(h[:]), skErased}
}

// signatureKey is the record of a plain push's query signature (40 hex digits,
// SHA-1 over the Token, timestamp and nonce), with the SHA-256 of the body it
// served in attrBody. It lives in events beside the claims, to be read with
// them strongly consistent; the stream's filter drops it (it has no event).
func signatureKey(signature string) key { return key{prefixSig + signature, skBody} }

// attrBody is a signature record's body hash (SHA-256, 64 hex digits).
const attrBody = "body"

// prefixAccountItem starts an account's item in the accounts table.
const prefixAccountItem = "account#"

// accountPK is the key of appID's item in the accounts table (which has no sort key).
func accountPK(appID string) string { return prefixAccountItem + appID }

// tokenPK is the key of an account's token item (the tokens table has no sort key).
// The platform's component_access_token is one too, under the component AppID.
func tokenPK(appID string) string { return prefixToken + appID }

// The third-party platform's own items in the tokens table (Platform), beside
// the tokens: no token#, so no AppID can name them.
const (
	platformTicketPK    = "platform#ticket"            // the newest component_verify_ticket
	platformStartPushPK = "platform#start-push-ticket" // the last claim of api_start_push_ticket
	platformCodePrefix  = "platform#code#"             // the claim of an authorization code, by its SHA-256
)

// authCodePK is the key of the claim of an authorization code: its SHA-256,
// so that the table never holds a code that still redeems.
func authCodePK(code string) string {
	sum := sha256.Sum256([]byte(code))
	return platformCodePrefix + hex.EncodeToString(sum[:])
}

// The attributes of the platform's items.
const (
	attrTicket        = "ticket"     // the ticket's value
	attrTicketCreated = "created"    // its CreateTime, Unix seconds
	attrReceived      = "received"   // when it was stored, Unix seconds
	attrClaimedAt     = "claimed_at" // the last claim, Unix milliseconds
	attrRedeemedFor   = "appid"      // the account an authorization code made
)

// statsKey is a shard's totals (day "") or one of its days.
func statsKey(scene string, shard int, day string) key {
	return key{prefixStats + scene + "#" + strconv.Itoa(shard), daySK(day, skTotal)}
}

// seenKey marks that openid scanned scene, all time (day "") or on one day. Its
// partition is the pair, so a hot scene's new users spread over partitions.
func seenKey(scene, openid, day string) key {
	return key{prefixSeen + scene + "#" + openid, daySK(day, skAll)}
}

func daySK(day, whole string) string {
	if day == "" {
		return whole
	}
	return prefixDay + day
}

// actionsKey is a shard of a scene's action counters. Every claim of a hot
// scene's scans updates them, so they are sharded like the scan counters: by the
// push, over Options.Shards partitions, summed when read.
func actionsKey(scene string, shard int) key {
	return key{prefixActions + scene + "#" + strconv.Itoa(shard), skTotal}
}

// claimKey files a push's claim under its user, so that erasure finds it with the
// rest of the user's items; one user does not push thousands a second, so the
// partition stays cool. The push key of an event names the openid, which the
// partition already names: "event:<openid>|<CreateTime>|<Event>|<EventKey>"
// (wechat.Message.DedupeKey) is kept as sk=push#event:<CreateTime>|<Event>|<EventKey>,
// a message's "msg:<MsgId>" as sk=push#msg:<MsgId>.
func claimKey(openid, push string) key {
	if rest, ok := strings.CutPrefix(push, "event:"+openid+"|"); ok {
		push = "event:" + rest
	}
	return key{userPK(openid), prefixPush + push}
}

// recordKey is the key of the claim that records openid's event, pushed at at
// through scene: claimKey of the push's dedupe key. Its EventKey is
// "qrscene_<scene>" for a subscribe through a code, the scene for SCAN, and
// empty for a follow through no code and for unsubscribe.
func recordKey(openid string, at time.Time, event, scene string) key {
	eventKey := scene
	if event == qr.EventSubscribe && scene != "" {
		eventKey = "qrscene_" + scene
	}
	return key{userPK(openid), recordPrefix + strconv.FormatInt(at.Unix(), 10) + "|" + event + "|" + eventKey}
}

// pushID is the stable id of the push whose claim is k: a hash of the key, the
// id of its published events (consumers dedupe on it), so it never changes.
func pushID(k key) string {
	h := sha256.Sum256([]byte(k.PK + "\x00" + k.SK))
	return hex.EncodeToString(h[:16])
}

// The markers and claims of a scan record's actions, under the follower, keyed
// by the record's push (its sort key after "push#").
func taggedKey(r qr.ScanRecord) key { return key{userPK(r.OpenID), prefixTagged + recordPush(r)} }
func followupKey(r qr.ScanRecord, i int) key {
	return key{userPK(r.OpenID), prefixFollowup + recordPush(r) + "#" + strconv.Itoa(i)}
}
func publishedKey(r qr.ScanRecord) key { return key{userPK(r.OpenID), prefixPublished + recordPush(r)} }

func recordPush(r qr.ScanRecord) string {
	return strings.TrimPrefix(recordKey(r.OpenID, r.At, r.Event, r.Scene).SK, prefixPush)
}
