package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/shared/qr"
	"wechatqr/shared/wechat/wechattest"
)

// testdata/release-2026-12-03.json is every item the single-account release
// before accounts (commit 2210e73) wrote for a scenario, dumped from its tables
// as DynamoDB JSON: two codes (one permanent with a reply, a tag and a
// follow-up; one temporary), two follows and a SCAN through the poster, a
// follow through the promotion, a leaving, a log-in bound by a scan and one
// pending, and the account's token. The scenario ran that release's API,
// callback and emulator.
const releaseFixture = "testdata/release-2026-12-03.json"

// loadRelease writes the fixture's items into the stack's tables. Their
// expire_at is moved a year ahead: TTL deletion is DynamoDB's, not a format,
// and DynamoDB Local would delete the fixture's expired items mid-test.
func loadRelease(t *testing.T, s *accountsStack) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(releaseFixture)
	if err != nil {
		t.Fatal(err)
	}
	var dump map[string][]map[string]json.RawMessage
	if err := json.Unmarshal(raw, &dump); err != nil {
		t.Fatal(err)
	}
	later := strconv.FormatInt(time.Now().AddDate(1, 0, 0).Unix(), 10)
	for _, table := range []string{"ScenesTable", "EventsTable", "TokensTable"} {
		for _, it := range dump[table] {
			item := map[string]types.AttributeValue{}
			for k, v := range it {
				item[k] = attributeOf(t, v)
			}
			if _, ok := item["expire_at"]; ok {
				item["expire_at"] = &types.AttributeValueMemberN{Value: later}
			}
			if _, err := s.client.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(s.names[table]), Item: item}); err != nil {
				t.Fatal(err)
			}
		}
	}
	var scenario []map[string]string
	if err := json.Unmarshal(mustRaw(t, dump["_scenario"]), &scenario); err != nil || len(scenario) != 1 {
		t.Fatalf("the fixture's scenario: %v", err)
	}
	return scenario[0]
}

func mustRaw(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// attributeOf reads one attribute value of DynamoDB JSON.
func attributeOf(t *testing.T, raw json.RawMessage) types.AttributeValue {
	t.Helper()
	var v map[string]json.RawMessage
	if err := json.Unmarshal(raw, &v); err != nil || len(v) != 1 {
		t.Fatalf("not an attribute value: %s", raw)
	}
	for typ, val := range v {
		var s string
		switch typ {
		case "S":
			_ = json.Unmarshal(val, &s)
			return &types.AttributeValueMemberS{Value: s}
		case "N":
			_ = json.Unmarshal(val, &s)
			return &types.AttributeValueMemberN{Value: s}
		case "B":
			_ = json.Unmarshal(val, &s)
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				t.Fatal(err)
			}
			return &types.AttributeValueMemberB{Value: b}
		case "BOOL":
			var b bool
			_ = json.Unmarshal(val, &b)
			return &types.AttributeValueMemberBOOL{Value: b}
		case "NULL":
			return &types.AttributeValueMemberNULL{Value: true}
		case "L":
			var l []json.RawMessage
			_ = json.Unmarshal(val, &l)
			out := make([]types.AttributeValue, len(l))
			for i, e := range l {
				out[i] = attributeOf(t, e)
			}
			return &types.AttributeValueMemberL{Value: out}
		case "M":
			var m map[string]json.RawMessage
			_ = json.Unmarshal(val, &m)
			out := map[string]types.AttributeValue{}
			for k, e := range m {
				out[k] = attributeOf(t, e)
			}
			return &types.AttributeValueMemberM{Value: out}
		}
		t.Fatalf("attribute type %s is not in the fixture's release", typ)
	}
	return nil
}

// TestAnUpgradeInPlaceKeepsTheDefaultAccountsData: the tables a single-account
// release wrote, read by this release as its default account's, through both
// spellings of its routes: every code, counter, session and claim comes back,
// a retry of a recorded push is still recognized, and erasure still finds
// everything of a follower.
func TestAnUpgradeInPlaceKeepsTheDefaultAccountsData(t *testing.T) {
	s := newAccountsStack(t)
	scenario := loadRelease(t, s)
	s.addB(t) // another account beside the upgraded one sees none of it
	for _, prefix := range []string{"", "/accounts/" + wechattest.DefaultAppID} {
		t.Run("routes"+prefix, func(t *testing.T) {
			var list struct {
				Codes []codeJSON `json:"codes"`
			}
			if w := s.do(t, "GET", prefix+"/qrcodes", "", &list); w.Code != 200 || len(list.Codes) != 2 || list.Codes[0].Scene != "promo-tmp" || list.Codes[1].Scene != "poster-1" {
				t.Fatalf("GET /qrcodes: %d %s; want both codes, newest first", w.Code, w.Body)
			}
			var poster struct {
				codeJSON
				Tag       string      `json:"tag"`
				Followups []qr.Reply  `json:"followups"`
				Totals    *qr.Counts  `json:"stats"`
				Reply     *qr.Reply   `json:"reply"`
				ExpiresAt interface{} `json:"expires_at"`
			}
			s.do(t, "GET", prefix+"/qrcodes/poster-1", "", &poster)
			if poster.Ticket != scenario["poster_ticket"] || poster.Tag != "Beijing poster" || len(poster.Followups) != 1 || poster.Followups[0].Content != "Your coupon" ||
				poster.Reply == nil || poster.Reply.Content != "Welcome, poster reader" || !poster.Permanent {
				t.Errorf("poster-1 = %+v", poster)
			}
			if want := (qr.Counts{Scans: 3, Subscribes: 2, UniqueUsers: 2, Unsubscribes: 1}); poster.Totals == nil || *poster.Totals != want {
				t.Errorf("poster-1's counters = %+v, want %+v", poster.Totals, want)
			}
			var promo struct {
				Ticket    string     `json:"ticket"`
				ExpiresAt string     `json:"expires_at"`
				Expired   bool       `json:"expired"`
				Totals    *qr.Counts `json:"stats"`
			}
			s.do(t, "GET", prefix+"/qrcodes/promo-tmp", "", &promo)
			exp, err := time.Parse(time.RFC3339, promo.ExpiresAt)
			if err != nil || promo.Ticket != scenario["promo_ticket"] || promo.Expired != time.Now().After(exp) {
				t.Errorf("promo-tmp = %+v (%v)", promo, err)
			}
			if want := (qr.Counts{Scans: 1, Subscribes: 1, UniqueUsers: 1}); promo.Totals == nil || *promo.Totals != want {
				t.Errorf("promo-tmp's counters = %+v, want %+v", promo.Totals, want)
			}
			var sources struct {
				Sources []struct {
					Scene  string    `json:"scene"`
					Totals qr.Counts `json:"totals"`
				} `json:"sources"`
			}
			if s.do(t, "GET", prefix+"/stats/sources", "", &sources); len(sources.Sources) != 2 {
				t.Errorf("sources = %+v, want both scenes", sources)
			}
			var bound, pending struct {
				Status    string    `json:"status"`
				OpenID    string    `json:"openid"`
				ExpiresAt time.Time `json:"expires_at"`
			}
			s.do(t, "GET", prefix+"/logins/"+scenario["login_bound"], "", &bound)
			s.do(t, "GET", prefix+"/logins/"+scenario["login_pending"], "", &pending)
			wantPending := "pending"
			if !time.Now().Before(pending.ExpiresAt) {
				wantPending = "expired"
			}
			if bound.Status != "scanned" || bound.OpenID != "oUserTwo" || pending.Status != wantPending || pending.ExpiresAt.IsZero() {
				t.Errorf("log-ins: bound %+v, pending %+v; want scanned by oUserTwo, and %s", bound, pending, wantPending)
			}
		})
	}
	var other struct {
		Codes []codeJSON `json:"codes"`
	}
	if s.do(t, "GET", "/accounts/"+appB+"/qrcodes", "", &other); len(other.Codes) != 0 {
		t.Errorf("the new account lists the upgraded account's codes: %+v", other.Codes)
	}

	// A retry of a push the release recorded is recognized by its claim: the
	// same reply, nothing counted again.
	p := s.net.Platform(wechattest.DefaultAppID)
	inner := p.Signer().ScanXML("oUserTwo", "poster-1", 1796374894, scenario["poster_ticket"])
	q, body, err := p.Signer().Push(inner, wechattest.Plaintext, time.Now().Unix(), "upgrade-retry")
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(s.callback+"/wechat?"+q.Encode(), "text/xml", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	reply, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil || res.StatusCode != 200 || !bytes.Contains(reply, []byte("Welcome, poster reader")) {
		t.Errorf("a retry of a recorded push: %d %q, want the recorded reply", res.StatusCode, reply)
	}
	var after struct {
		Totals *qr.Counts `json:"stats"`
	}
	if s.do(t, "GET", "/qrcodes/poster-1", "", &after); after.Totals == nil || after.Totals.Scans != 3 {
		t.Errorf("after the retry, poster-1's counters = %+v, want 3 scans still", after.Totals)
	}

	// Erasure finds the release's items of a follower.
	var erased struct {
		Deleted map[string]int `json:"deleted"`
	}
	if w := s.do(t, "DELETE", "/users/oUserTwo", "", &erased); w.Code != 200 {
		t.Fatalf("DELETE /users/oUserTwo: %d %s", w.Code, w.Body)
	}
	want := map[string]int{"scan_records": 2, "claims": 1, "sources": 1, "markers": 2, "sessions": 1}
	for k, n := range want {
		if erased.Deleted[k] != n {
			t.Errorf("erased %s = %d, want %d (all: %v)", k, erased.Deleted[k], n, erased.Deleted)
		}
	}
}
