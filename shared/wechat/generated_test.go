package wechat_test

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"

	"wechatqr/shared/wechat"
)

// fragments are the pieces generated documents are made of: mostly what
// WeChat sends, plus every construct the scanner must hand to encoding/xml.
var fragments = []string{
	"<xml>", "</xml>", "<xml>", "</xml>", "<xml/>", "<XML>",
	"<ToUserName>", "</ToUserName>", "<Content>", "</Content>", "<CreateTime>", "</CreateTime>",
	"<EventKey>", "</EventKey>", "<MsgId>", "</MsgId>", "<Encrypt>", "</Encrypt>", "<Event>", "</Event>",
	"<Latitude>", "</Latitude>", "<a>", "</a>", "<a/>", "<Content/>", "<Content x=\"1\">", "</Content >",
	"<![CDATA[", "]]>", "]]", "]", ">", "<", "&", "&amp;", "&lt;", "&#20013;", "&#x41;", "&nbsp;", "&#0;",
	"<!-- c -->", "<!--", "-->", "<?xml version=\"1.0\"?>", "<?pi x?>", "<!DOCTYPE xml>",
	" ", "\n", "\r", "\r\n", "\t", "\x00", "\x1f", "\xff", "\xc3", "中文", "🌏", "\uFFFE", "\uFFFD",
	"0", "42", "1732500000", "-", "+", "9223372036854775807", "9223372036854775808", "1.5", "abc",
	"riddle-1", "qrscene_", "0123456789abcdef", "SCAN", "subscribe", "gh_0123456789ab", "a:b", "xmlns=\"u\"",
}

func generateDocument(r *rand.Rand) []byte {
	var b strings.Builder
	if r.IntN(4) > 0 {
		b.WriteString("<xml>")
	}
	n := r.IntN(24)
	for range n {
		if r.IntN(3) == 0 {
			// A well-formed field, to keep many documents valid.
			name := []string{"ToUserName", "Content", "CreateTime", "EventKey", "MsgId", "Encrypt", "Unknown"}[r.IntN(7)]
			b.WriteString("<" + name + ">")
			for range r.IntN(3) {
				f := fragments[r.IntN(len(fragments))]
				if r.IntN(2) == 0 {
					b.WriteString("<![CDATA[" + f + "]]>")
				} else {
					b.WriteString(f)
				}
			}
			b.WriteString("</" + name + ">")
			continue
		}
		b.WriteString(fragments[r.IntN(len(fragments))])
	}
	if r.IntN(4) > 0 {
		b.WriteString("</xml>")
	}
	return []byte(b.String())
}

// TestParseMessageAgreesOnGeneratedDocuments complements FuzzParseMessage,
// whose byte mutations seldom build well-formed XML: documents assembled from
// XML fragments reach the scanner's accept paths far more often. Set
// WECHAT_GENERATED_DOCS to run more than the default.
func TestParseMessageAgreesOnGeneratedDocuments(t *testing.T) {
	n := 20000
	if s := os.Getenv("WECHAT_GENERATED_DOCS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	r := rand.New(rand.NewPCG(1, 2))
	accepted, fast := 0, 0
	for range n {
		body := generateDocument(r)
		got, err := wechat.ParseMessage(body)
		want, wantErr := oracle(body)
		if (err == nil) != (wantErr == nil) || got != want {
			t.Fatalf("ParseMessage(%q)\n = %+v, %v\nencoding/xml gives\n   %+v, %v", body, got, err, want, wantErr)
		}
		if m, ok := wechat.ParseFast(body); ok {
			fast++
			if wantErr != nil || m != want {
				t.Fatalf("the fast path answered %+v for %q; encoding/xml gives %+v, %v", m, body, want, wantErr)
			}
		}
		if err == nil {
			accepted++
		}
	}
	// The generator must exercise both paths, or the test proves nothing.
	if accepted < n/20 || fast < n/50 {
		t.Errorf("only %d of %d documents parsed and %d took the fast path", accepted, n, fast)
	}
	t.Logf("%d documents: %d parsed, %d by the fast path", n, accepted, fast)
}
