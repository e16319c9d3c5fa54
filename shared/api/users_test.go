package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"wechatqr/shared/api"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/qr"
	"wechatqr/shared/wechat/wechattest"
)

// The follower these tests erase, and one who stays.
const (
	follower = "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ"
	stayer   = "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9zZ"
)

// storedItem is one item of one table, with every byte it holds.
type storedItem struct {
	table string
	av    map[string]types.AttributeValue
	bytes []byte
}

// appendBytes appends every name and value of av, nested ones included, as raw
// bytes: what a search for an openid must look through (binary replies too).
func appendBytes(b []byte, av types.AttributeValue) []byte {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		b = append(b, v.Value...)
	case *types.AttributeValueMemberN:
		b = append(b, v.Value...)
	case *types.AttributeValueMemberB:
		b = append(b, v.Value...)
	case *types.AttributeValueMemberSS:
		for _, s := range v.Value {
			b = append(append(b, s...), 0)
		}
	case *types.AttributeValueMemberNS:
		for _, s := range v.Value {
			b = append(append(b, s...), 0)
		}
	case *types.AttributeValueMemberBS:
		for _, s := range v.Value {
			b = append(append(b, s...), 0)
		}
	case *types.AttributeValueMemberL:
		for _, e := range v.Value {
			b = append(appendBytes(b, e), 0)
		}
	case *types.AttributeValueMemberM:
		for k, e := range v.Value {
			b = append(appendBytes(append(b, k...), e), 0)
		}
	}
	return b
}

// everything scans every table of the stack, consistently, page by page.
func (s *stack) everything(t *testing.T) []storedItem {
	t.Helper()
	var items []storedItem
	for _, table := range s.all {
		in := &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)}
		for {
			out, err := s.client.Scan(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			for _, av := range out.Items {
				items = append(items, storedItem{table, av, appendBytes(nil, &types.AttributeValueMemberM{Value: av})})
			}
			if len(out.LastEvaluatedKey) == 0 {
				break
			}
			in.ExclusiveStartKey = out.LastEvaluatedKey
		}
	}
	return items
}

func naming(items []storedItem, openid string) []storedItem {
	var out []storedItem
	for _, it := range items {
		if bytes.Contains(it.bytes, []byte(openid)) {
			out = append(out, it)
		}
	}
	return out
}

// campaign runs through the callback what a follower does in a campaign: follows
// through poster-a, scans poster-b (WeChat delivering twice), logs in on a
// website, sends a text, leaves, and follows again through poster-c. The stayer
// follows through poster-a and scans poster-b too.
func campaign(t *testing.T, s *stack) {
	t.Helper()
	ctx := context.Background()
	tickets := map[string]string{}
	for _, scene := range []string{"poster-a", "poster-b", "poster-c"} {
		var c codeJSON
		body := `{"scene":"` + scene + `","permanent":true,"reply":{"type":"text","content":"Thanks for scanning ` + scene + `"}}`
		if w := s.do(t, "POST", "/qrcodes", body, &c); w.Code != http.StatusCreated {
			t.Fatalf("create %s: %d %s", scene, w.Code, w.Body)
		}
		tickets[scene] = c.Ticket
	}
	var login struct{ Ticket string }
	if w := s.do(t, "POST", "/logins", "", &login); w.Code != http.StatusCreated {
		t.Fatalf("create log-in: %d %s", w.Code, w.Body)
	}
	signer := wechattest.Signer{Token: wechattest.DefaultToken, AppID: wechattest.DefaultAppID, EncodingAESKey: wechattest.DefaultEncodingAESKey}
	steps := []struct {
		name string
		do   func() (wechattest.Push, error)
		want string // in the reply
	}{
		{"follow through poster-a", func() (wechattest.Push, error) {
			return s.platform.Scan(ctx, s.callback, follower, tickets["poster-a"], wechattest.Safe)
		}, "poster-a"},
		{"scan poster-b, delivered twice", func() (wechattest.Push, error) {
			return s.platform.Scan(ctx, s.callback, follower, tickets["poster-b"], wechattest.Safe, wechattest.Repeat(2))
		}, "poster-b"},
		{"log in", func() (wechattest.Push, error) {
			return s.platform.Scan(ctx, s.callback, follower, login.Ticket, wechattest.Plaintext)
		}, "logged in"},
		{"text", func() (wechattest.Push, error) {
			return s.platform.Send(ctx, s.callback, signer.TextXML(follower, "hello", time.Now().Unix(), 7001), wechattest.Safe)
		}, "success"},
		{"leave", func() (wechattest.Push, error) {
			return s.platform.Unsubscribe(ctx, s.callback, follower, wechattest.Safe)
		}, "success"},
		{"follow again through poster-c", func() (wechattest.Push, error) {
			return s.platform.Scan(ctx, s.callback, follower, tickets["poster-c"], wechattest.Safe)
		}, "poster-c"},
		{"the stayer follows through poster-a", func() (wechattest.Push, error) {
			return s.platform.Scan(ctx, s.callback, stayer, tickets["poster-a"], wechattest.Safe)
		}, "poster-a"},
		{"the stayer scans poster-b", func() (wechattest.Push, error) {
			return s.platform.Scan(ctx, s.callback, stayer, tickets["poster-b"], wechattest.Safe)
		}, "poster-b"},
	}
	for _, st := range steps {
		push, err := st.do()
		if err != nil || push.Status() != http.StatusOK || !strings.Contains(string(push.Reply()), st.want) {
			t.Fatalf("%s: %v, status %d, reply %q", st.name, err, push.Status(), push.Reply())
		}
		for i, d := range push.Deliveries[1:] {
			if d.Status != http.StatusOK || !bytes.Equal(d.Reply, push.Deliveries[0].Reply) {
				t.Errorf("%s: delivery %d answered %d %q, the first %q", st.name, i+2, d.Status, d.Reply, push.Deliveries[0].Reply)
			}
		}
	}
}

func TestEverythingNamingAFollowerExpiresWithinTheRetention(t *testing.T) {
	for _, retention := range []time.Duration{dynamo.DefaultRetention, 24 * time.Hour} {
		t.Run(retention.String(), func(t *testing.T) {
			s := newStack(t, api.Config{}, dynamo.Options{Retention: retention})
			campaign(t, s)
			now := time.Now()
			latest := now.Add(retention + time.Minute).Unix()
			items := naming(s.everything(t), follower)
			kinds := map[string]int{}
			for _, it := range items {
				pk := it.av["pk"].(*types.AttributeValueMemberS).Value
				sk := it.av["sk"].(*types.AttributeValueMemberS).Value
				kind, _, _ := strings.Cut(pk, "#")
				kinds[kind]++
				n, ok := it.av["expire_at"].(*types.AttributeValueMemberN)
				if !ok {
					t.Errorf("%s %s/%s names the follower and has no expire_at: it would be kept forever", it.table, pk, sk)
					continue
				}
				at, err := strconv.ParseInt(n.Value, 10, 64)
				if err != nil || at <= now.Unix() || at > latest {
					t.Errorf("%s %s/%s expires at %s, want within %v from now", it.table, pk, sk, n.Value, retention)
				}
				if reply, ok := it.av["reply"].(*types.AttributeValueMemberB); ok && bytes.Contains(reply.Value, []byte(follower)) {
					t.Errorf("%s %s/%s keeps the openid in its stored reply %q", it.table, pk, sk, reply.Value)
				}
			}
			// user#: 4 records, a log-in claim, a source; seen#: 3 scenes × (all, day); login#: 1.
			if kinds["user"] != 6 || kinds["seen"] != 6 || kinds["login"] != 1 {
				t.Errorf("items naming the follower by partition kind: %v, want user 6, seen 6, login 1", kinds)
			}
		})
	}
}

type erasedJSON struct {
	OpenIDSHA256 string         `json:"openid_sha256"`
	Deleted      map[string]int `json:"deleted"`
	Total        int            `json:"total"`
	ErasedMarker bool           `json:"erased_marker"`
	Message      string         `json:"message"`
}

func TestErasingAFollowerLeavesNoTraceAndTheCountersAsTheyWere(t *testing.T) {
	s := newStack(t, api.Config{})
	campaign(t, s)
	ctx := context.Background()
	stats := func() map[string]qr.Stats {
		m := map[string]qr.Stats{}
		for _, scene := range []string{"poster-a", "poster-b", "poster-c"} {
			st, err := s.store.SceneStats(ctx, scene, "2000-01-01", "2100-12-31")
			if err != nil {
				t.Fatal(err)
			}
			m[scene] = st
		}
		return m
	}
	before := stats()
	stayers := len(naming(s.everything(t), stayer))

	var got erasedJSON
	if w := s.do(t, "DELETE", "/users/"+follower, "", &got); w.Code != http.StatusOK {
		t.Fatalf("DELETE: %d %s", w.Code, w.Body)
	}
	want := map[string]int{"scan_records": 4, "claims": 1, "sources": 1, "markers": 6, "sessions": 1}
	sum := sha256.Sum256([]byte(follower))
	if len(got.Deleted) != len(want) || got.Total != 13 || got.OpenIDSHA256 != hex.EncodeToString(sum[:]) || !got.ErasedMarker {
		t.Errorf("answer %+v, want %v (13 in all), a SHA-256 and the erased marker", got, want)
	}
	for k, n := range want {
		if got.Deleted[k] != n {
			t.Errorf("deleted %d %s, want %d", got.Deleted[k], k, n)
		}
	}
	if left := naming(s.everything(t), follower); len(left) != 0 {
		for _, it := range left {
			t.Errorf("%s still holds %q", it.table, it.bytes)
		}
	}
	if n := len(naming(s.everything(t), stayer)); n != stayers {
		t.Errorf("the stayer's items went from %d to %d", stayers, n)
	}
	if after := stats(); !equalStats(before, after) {
		t.Errorf("counters changed:\nbefore %+v\nafter  %+v", before, after)
	}
	if logs := s.logs.String(); strings.Contains(logs, follower) || !strings.Contains(logs, got.OpenIDSHA256) {
		t.Errorf("logs name the follower, or not even by hash:\n%s", logs)
	}

	var again erasedJSON
	if w := s.do(t, "DELETE", "/users/"+follower, "", &again); w.Code != http.StatusOK || again.Total != 0 || again.OpenIDSHA256 != got.OpenIDSHA256 || !again.ErasedMarker || !strings.Contains(again.Message, "nothing deleted") {
		t.Errorf("second DELETE: %d %+v, want 200 with nothing deleted", w.Code, again)
	}
	for k, n := range again.Deleted {
		if n != 0 {
			t.Errorf("second DELETE deleted %d %s", n, k)
		}
	}
}

func equalStats(a, b map[string]qr.Stats) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func TestErasureRefusesAMalformedOpenID(t *testing.T) {
	s := newStack(t, api.Config{})
	campaign(t, s)
	items := len(s.everything(t))
	for _, path := range []string{
		"/users/" + strings.Repeat("o", api.MaxOpenIDBytes+1),
		"/users/o%20K",
		"/users/o%2FK",
		"/users/%E4%BD%A0%E5%A5%BD",
		"/users/" + follower + "%00",
	} {
		var e errorJSON
		if w := s.do(t, "DELETE", path, "", &e); w.Code != http.StatusBadRequest || e.Error != qr.EInvalid || !strings.Contains(e.Message, "openid") {
			t.Errorf("DELETE %s: %d %+v, want 400 invalid naming openid", path, w.Code, e)
		}
	}
	if n := len(s.everything(t)); n != items {
		t.Errorf("refused requests changed the tables: %d items, then %d", items, n)
	}
}

func TestErasingAFollowerWithManyScansPagesThroughThem(t *testing.T) {
	s := newStack(t, api.Config{})
	ctx := context.Background()
	const scenes = 130 // over a page of the follower's partition (100)
	for i := range scenes {
		push, err := s.platform.ScanScene(ctx, s.callback, follower, fmt.Sprintf("stall-%03d", i), wechattest.Plaintext)
		if err != nil || push.Status() != http.StatusOK {
			t.Fatalf("scan %d: %v %d", i, err, push.Status())
		}
	}
	var got erasedJSON
	if w := s.do(t, "DELETE", "/users/"+follower, "", &got); w.Code != http.StatusOK {
		t.Fatalf("DELETE: %d %s", w.Code, w.Body)
	}
	// One subscribe (with its source) and 129 SCANs, each of its own scene: a record
	// each, and each scene's all-time and day markers.
	if got.Deleted["scan_records"] != scenes || got.Deleted["sources"] != 1 || got.Deleted["markers"] != 2*scenes || got.Total != 3*scenes+1 {
		t.Errorf("deleted %v (total %d), want %d records, 1 source, %d markers", got.Deleted, got.Total, scenes, 2*scenes)
	}
	if left := naming(s.everything(t), follower); len(left) != 0 {
		t.Errorf("%d items still name the follower, the first in %s", len(left), left[0].table)
	}
}
