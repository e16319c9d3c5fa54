package wechat_test

import (
	"encoding/xml"
	"errors"
	"reflect"
	"strings"
	"testing"

	"wechatqr/shared/wechat"
)

// oracleMessage is an encoding/xml decode written out independently of
// wechat.Message's tags: ParseMessage must always agree with it.
type oracleMessage struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   string
	FromUserName string
	CreateTime   int64
	MsgType      string
	Event        string
	EventKey     string
	Ticket       string
	Content      string
	MsgID        string `xml:"MsgId"`
	Encrypt      string
}

func oracle(body []byte) (wechat.Message, error) {
	var o oracleMessage
	if err := xml.Unmarshal(body, &o); err != nil {
		return wechat.Message{}, err
	}
	return wechat.Message{
		ToUserName: o.ToUserName, FromUserName: o.FromUserName, CreateTime: o.CreateTime,
		MsgType: o.MsgType, Event: o.Event, EventKey: o.EventKey, Ticket: o.Ticket,
		Content: o.Content, MsgID: o.MsgID, Encrypt: o.Encrypt,
	}, nil
}

// checkAgainstOracle fails unless ParseMessage and encoding/xml agree on body.
func checkAgainstOracle(t *testing.T, body []byte) (wechat.Message, error) {
	t.Helper()
	got, err := wechat.ParseMessage(body)
	want, wantErr := oracle(body)
	if (err == nil) != (wantErr == nil) || got != want {
		t.Fatalf("ParseMessage(%q)\n = %+v, %v\nencoding/xml gives\n   %+v, %v", body, got, err, want, wantErr)
	}
	if err != nil && !errors.Is(err, wechat.ErrMalformed) {
		t.Fatalf("error %v does not wrap ErrMalformed", err)
	}
	return got, err
}

// The head shared by the samples of §5.
const (
	eventHead = `<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ]]></FromUserName><CreateTime>1732500000</CreateTime><MsgType><![CDATA[event]]></MsgType>`
	textHead  = `<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ]]></FromUserName><CreateTime>1732500000</CreateTime><MsgType><![CDATA[text]]></MsgType>`
)

func event(ev, key, ticket string) wechat.Message {
	return wechat.Message{ToUserName: "gh_0123456789ab", FromUserName: vOpenID, CreateTime: 1732500000,
		MsgType: "event", Event: ev, EventKey: key, Ticket: ticket}
}

func text(content, msgID string) wechat.Message {
	return wechat.Message{ToUserName: "gh_0123456789ab", FromUserName: vOpenID, CreateTime: 1732500000,
		MsgType: "text", Content: content, MsgID: msgID}
}

// wechatSamples are the bodies of §5, the seed's SCAN example and §10's
// vectors: what WeChat actually sends. The fast path must take them all.
var wechatSamples = []struct {
	name string
	body string
	want wechat.Message
}{
	{"§5 subscribe through a QR code", eventHead + `<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_riddle-1]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket></xml>`,
		event("subscribe", "qrscene_riddle-1", "TICKET")},
	{"§5 SCAN", eventHead + `<Event><![CDATA[SCAN]]></Event><EventKey><![CDATA[riddle-1]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket></xml>`,
		event("SCAN", "riddle-1", "TICKET")},
	{"§5 plain subscribe", eventHead + `<Event><![CDATA[subscribe]]></Event></xml>`, event("subscribe", "", "")},
	{"§5 unsubscribe", eventHead + `<Event><![CDATA[unsubscribe]]></Event></xml>`, event("unsubscribe", "", "")},
	{"§5 LOCATION, its fields skipped", eventHead + `<Event><![CDATA[LOCATION]]></Event><Latitude>23.137466</Latitude><Longitude>113.352425</Longitude><Precision>119.385040</Precision></xml>`,
		event("LOCATION", "", "")},
	{"§5 text message", textHead + `<Content><![CDATA[hello]]></Content><MsgId>1234567890123456</MsgId></xml>`, text("hello", "1234567890123456")},
	{"§5 menu CLICK", eventHead + `<Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[V1001_TODAY_MUSIC]]></EventKey></xml>`,
		event("CLICK", "V1001_TODAY_MUSIC", "")},
	{"§5 menu VIEW with MenuId", eventHead + `<Event><![CDATA[VIEW]]></Event><EventKey><![CDATA[https://example.com/a?b=1&c=2]]></EventKey><MenuId>208379533</MenuId></xml>`,
		event("VIEW", "https://example.com/a?b=1&c=2", "")},
	{"seed: SCAN from the community example",
		`<xml><ToUserName><![CDATA[gh_452****b0f2]]></ToUserName><FromUserName><![CDATA[oz1fVs4d****7FmFrCbc57o]]></FromUserName><CreateTime>1429416610</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[SCAN]]></Event><EventKey><![CDATA[155120hzw]]></EventKey><Ticket><![CDATA[gQH17zoAAAAAAAAAASxodHR****S9xL28waUNrM1BsV1ZJZ0VJcE8tbUFMAAIEcCozVQMEAAAAAA==]]></Ticket></xml>`,
		wechat.Message{ToUserName: "gh_452****b0f2", FromUserName: "oz1fVs4d****7FmFrCbc57o", CreateTime: 1429416610, MsgType: "event",
			Event: "SCAN", EventKey: "155120hzw", Ticket: "gQH17zoAAAAAAAAAASxodHR****S9xL28waUNrM1BsV1ZJZ0VJcE8tbUFMAAIEcCozVQMEAAAAAA=="}},
	{"§10(c) SCAN", vScanXML, event("SCAN", "riddle-1", vTicket)},
	{"§10(b) safe-mode envelope", `<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><Encrypt><![CDATA[` + vEncrypt + `]]></Encrypt></xml>`,
		wechat.Message{ToUserName: "gh_0123456789ab", Encrypt: vEncrypt}},
	{"§10(c′) text reply", vReplyXML, wechat.Message{ToUserName: vOpenID, FromUserName: "gh_0123456789ab", CreateTime: 1732500001, MsgType: "text", Content: "Answer: a map"}},
	{"Chinese content", textHead + `<Content><![CDATA[你好，世界 🌏]]></Content><MsgId>6265881059295447969</MsgId></xml>`, text("你好，世界 🌏", "6265881059295447969")},
	{"pretty-printed with LF", "<xml>\n  <ToUserName><![CDATA[gh_0123456789ab]]></ToUserName>\n  <Encrypt><![CDATA[abc]]></Encrypt>\n</xml>\n",
		wechat.Message{ToUserName: "gh_0123456789ab", Encrypt: "abc"}},
	{"numbers and strings as bare text", `<xml><ToUserName>gh_0123456789ab</ToUserName><FromUserName>` + vOpenID + `</FromUserName><CreateTime>1732500000</CreateTime><MsgType>text</MsgType><Content>a > b</Content><MsgId>7</MsgId></xml>`,
		text("a > b", "7")},
}

func TestParseMessageReadsWeChatSamples(t *testing.T) {
	for _, tt := range wechatSamples {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkAgainstOracle(t, []byte(tt.body))
			if err != nil || got != tt.want {
				t.Fatalf("ParseMessage = %+v, %v\nwant %+v", got, err, tt.want)
			}
			if _, ok := wechat.ParseFast([]byte(tt.body)); !ok {
				t.Errorf("the fast path declined a body WeChat sends; it fell back to encoding/xml")
			}
		})
	}
}

func TestParseMessageAgreesWithEncodingXML(t *testing.T) {
	const tail = `<MsgId>1</MsgId></xml>`
	tests := []struct {
		name    string
		body    string
		want    wechat.Message
		wantErr bool
		fast    bool // whether the fast path is expected to answer
	}{
		{"splits ]]> across CDATA sections", textHead + `<Content><![CDATA[a]]]]><![CDATA[>b]]></Content>` + tail, text("a]]>b", "1"), false, true},
		{"joins CDATA and text", textHead + `<Content>x<![CDATA[<y>]]>z</Content>` + tail, text("x<y>z", "1"), false, true},
		{"reads an empty CDATA section as empty", eventHead + `<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[]]></EventKey></xml>`, event("subscribe", "", ""), false, true},
		{"keeps ]] before a non-> in CDATA", textHead + `<Content><![CDATA[a]]b]]]></Content>` + tail, text("a]]b]", "1"), false, true},
		{"skips leading whitespace", " \r\n\t" + textHead + `<Content>c</Content>` + tail, text("c", "1"), false, true},
		{"skips CRLF between elements", "<xml>\r\n<Content>c</Content>\r\n<MsgId>1</MsgId>\r\n</xml>", wechat.Message{Content: "c", MsgID: "1"}, false, true},
		{"does not read past </xml>", textHead + `<Content>c</Content>` + tail + `<<garbage & more`, text("c", "1"), false, true},
		{"keeps the last of a repeated element", textHead + `<Content>first</Content><Content>second</Content>` + tail, text("second", "1"), false, true},
		{"ignores MsgID (TEMPLATESENDJOBFINISH's spelling)", textHead + `<Content>c</Content><MsgID>9</MsgID></xml>`, text("c", ""), false, true},
		{"accepts CreateTime in CDATA", `<xml><CreateTime><![CDATA[42]]></CreateTime></xml>`, wechat.Message{CreateTime: 42}, false, true},
		{"accepts a signed CreateTime", `<xml><CreateTime>+42</CreateTime></xml>`, wechat.Message{CreateTime: 42}, false, true},
		{"accepts a negative CreateTime", `<xml><CreateTime>-42</CreateTime></xml>`, wechat.Message{CreateTime: -42}, false, true},
		{"reads an empty CreateTime as 0", `<xml><CreateTime></CreateTime></xml>`, wechat.Message{}, false, true},
		{"reads an empty document", `<xml></xml>`, wechat.Message{}, false, true},

		// encoding/xml answers these; the result must be its result.
		{"reads an XML header", `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + textHead + `<Content>c</Content>` + tail, text("c", "1"), false, false},
		{"reads a pretty-printed CDATA with spaces around it", textHead + "<Content>\n  <![CDATA[c]]>\n</Content>" + tail, text("\n  c\n", "1"), false, true},
		{"decodes entities", textHead + `<Content>a &amp; b &lt;c&gt; &#20013;&#x6587;</Content>` + tail, text("a & b <c> 中文", "1"), false, false},
		{"skips comments between elements", textHead + `<!-- note --><Content>c</Content>` + tail, text("c", "1"), false, false},
		{"drops a comment inside a field", textHead + `<Content>a<!-- x -->b</Content>` + tail, text("ab", "1"), false, false},
		{"skips nested unknown elements", textHead + `<Video><MediaId><![CDATA[m]]></MediaId><Title>t</Title></Video><Content>c</Content>` + tail, text("c", "1"), false, false},
		{"drops a child inside a known field", textHead + `<Content>a<b>x</b>c</Content>` + tail, text("ac", "1"), false, false},
		{"ignores attributes", textHead + `<Content lang="zh">c</Content>` + tail, text("c", "1"), false, false},
		{"reads a self-closing field as empty", eventHead + `<Event>subscribe</Event><EventKey/></xml>`, event("subscribe", "", ""), false, false},
		{"reads a self-closing root", `<xml/>`, wechat.Message{}, false, false},
		{"normalizes CR and CRLF in content", textHead + "<Content><![CDATA[a\r\nb\rc]]></Content>" + tail, text("a\nb\nc", "1"), false, false},
		{"trims spaces around CreateTime", `<xml><CreateTime> 42 </CreateTime></xml>`, wechat.Message{CreateTime: 42}, false, false},
		{"accepts a 19-digit CreateTime", `<xml><CreateTime>9223372036854775807</CreateTime></xml>`, wechat.Message{CreateTime: 9223372036854775807}, false, false},
		{"skips text before the root", "hello<xml><Content>c</Content></xml>", wechat.Message{Content: "c"}, false, false},
		{"reads a namespaced field", `<xml xmlns:a="urn:x"><a:Content>c</a:Content></xml>`, wechat.Message{Content: "c"}, false, false},
		{"allows space before > in an end tag", textHead + `<Content>c</Content >` + tail, text("c", "1"), false, false},

		{"rejects a CreateTime that is not a number", `<xml><CreateTime>soon</CreateTime></xml>`, wechat.Message{}, true, false},
		{"rejects a CreateTime that overflows", `<xml><CreateTime>9223372036854775808</CreateTime></xml>`, wechat.Message{}, true, false},
		{"rejects a decimal CreateTime", `<xml><CreateTime>1.5</CreateTime></xml>`, wechat.Message{}, true, false},
		{"rejects another root element", `<message><Content>c</Content></message>`, wechat.Message{}, true, false},
		{"rejects an upper-case root", `<XML><Content>c</Content></XML>`, wechat.Message{}, true, false},
		{"rejects an unclosed root", textHead + `<Content>c</Content>`, wechat.Message{}, true, false},
		{"rejects a mismatched end tag", textHead + `<Content>c</Contents>` + tail, wechat.Message{}, true, false},
		{"rejects an unterminated CDATA", textHead + `<Content><![CDATA[c</Content>` + tail, wechat.Message{}, true, false},
		{"rejects an empty body", ``, wechat.Message{}, true, false},
		{"rejects whitespace only", " \n", wechat.Message{}, true, false},
		{"rejects JSON", `{"ToUserName":"gh"}`, wechat.Message{}, true, false},
		{"rejects an unknown entity", textHead + `<Content>a&nbsp;b</Content>` + tail, wechat.Message{}, true, false},
		{"rejects a bare &", textHead + `<Content>a & b</Content>` + tail, wechat.Message{}, true, false},
		{"rejects ]]> in text", textHead + `<Content>a]]>b</Content>` + tail, wechat.Message{}, true, false},
		{"rejects invalid UTF-8", textHead + "<Content><![CDATA[a\xffb]]></Content>" + tail, wechat.Message{}, true, false},
		{"rejects a NUL in a long CDATA", textHead + "<Content><![CDATA[0123456789\x00abcdefghij]]></Content>" + tail, wechat.Message{}, true, false},
		{"rejects an escape in long text", textHead + "<Content>0123456789\x1babcdefghij</Content>" + tail, wechat.Message{}, true, false},
		{"normalizes CR in a long CDATA", textHead + "<Content><![CDATA[0123456789\r\nabcdefghij]]></Content>" + tail, text("0123456789\nabcdefghij", "1"), false, false},
		{"accepts tabs and LFs in a long CDATA", textHead + "<Content><![CDATA[0123456\t89\nabcdefghij]]></Content>" + tail, text("0123456\t89\nabcdefghij", "1"), false, true},
		{"rejects a NUL byte", textHead + "<Content><![CDATA[a\x00b]]></Content>" + tail, wechat.Message{}, true, false},
		{"rejects U+FFFE", textHead + "<Content><![CDATA[a\uFFFEb]]></Content>" + tail, wechat.Message{}, true, false},
		{"rejects a DTD-defined entity", `<!DOCTYPE xml [<!ENTITY x "hi">]><xml><Content>&x;</Content></xml>`, wechat.Message{}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := checkAgainstOracle(t, []byte(tt.body))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("ParseMessage = %+v, %v\nwant %+v (error: %v)", got, err, tt.want, tt.wantErr)
			}
			if _, ok := wechat.ParseFast([]byte(tt.body)); ok != tt.fast {
				t.Errorf("fast path answered: %v, want %v", ok, tt.fast)
			}
		})
	}
}

func TestParseMessageSharesOneStringAcrossFields(t *testing.T) {
	// The fast path converts the body once; fields must not alias the
	// caller's buffer, which the caller may reuse.
	body := []byte(vScanXML)
	m, err := wechat.ParseMessage(body)
	if err != nil {
		t.Fatal(err)
	}
	before := m
	for i := range body {
		body[i] = 'X'
	}
	if !reflect.DeepEqual(m, before) || m.EventKey != "riddle-1" {
		t.Errorf("the message changed with the body buffer: %+v", m)
	}
}

func TestScene(t *testing.T) {
	tests := []struct {
		name      string
		m         wechat.Message
		wantScene string
		wantOK    bool
	}{
		{"subscribe through a code", event("subscribe", "qrscene_riddle-1", "T"), "riddle-1", true},
		{"subscribe through a numeric code", event("subscribe", "qrscene_42", "T"), "42", true},
		{"SCAN", event("SCAN", "riddle-1", "T"), "riddle-1", true},
		{"SCAN keeps a qrscene_-looking value as is", event("SCAN", "qrscene_x", "T"), "qrscene_x", true},
		{"plain subscribe", event("subscribe", "", ""), "", false},
		{"subscribe with a key but no prefix", event("subscribe", "riddle-1", ""), "", false},
		{"subscribe with qrscene_ and nothing after", event("subscribe", "qrscene_", "T"), "", false},
		{"SCAN with an empty key", event("SCAN", "", "T"), "", false},
		{"unsubscribe", event("unsubscribe", "", ""), "", false},
		{"CLICK", event("CLICK", "qrscene_menu", ""), "", false},
		{"event names are case-sensitive: scan", event("scan", "riddle-1", "T"), "", false},
		{"event names are case-sensitive: Subscribe", event("Subscribe", "qrscene_riddle-1", "T"), "", false},
		{"a text message is no scan", text("qrscene_riddle-1", "1"), "", false},
		{"SCAN only counts as an event", wechat.Message{MsgType: "text", Event: "SCAN", EventKey: "riddle-1"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			scene, ok := tt.m.Scene()
			if scene != tt.wantScene || ok != tt.wantOK {
				t.Errorf("Scene() = %q, %v; want %q, %v", scene, ok, tt.wantScene, tt.wantOK)
			}
		})
	}
}

func TestDedupeKey(t *testing.T) {
	tests := []struct {
		name string
		m    wechat.Message
		want string
	}{
		{"text message uses MsgId", text("hi", "1234567890123456"), "msg:1234567890123456"},
		{"subscribe through a code", event("subscribe", "qrscene_riddle-1", "T"), "event:" + vOpenID + "|1732500000|subscribe|qrscene_riddle-1"},
		{"SCAN", event("SCAN", "riddle-1", "T"), "event:" + vOpenID + "|1732500000|SCAN|riddle-1"},
		{"plain subscribe", event("subscribe", "", ""), "event:" + vOpenID + "|1732500000|subscribe|"},
		{"unsubscribe", event("unsubscribe", "", ""), "event:" + vOpenID + "|1732500000|unsubscribe|"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.m.DedupeKey(); got != tt.want {
				t.Errorf("DedupeKey() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestDedupeKeySeparatesEventsInOneSecond(t *testing.T) {
	// The docs' FromUserName+CreateTime would merge these two.
	sub, scan := event("subscribe", "qrscene_a", "T"), event("SCAN", "b", "T")
	if sub.DedupeKey() == scan.DedupeKey() {
		t.Errorf("two different events share the key %q", sub.DedupeKey())
	}
	other := event("SCAN", "b", "T")
	other.CreateTime++
	if scan.DedupeKey() == other.DedupeKey() {
		t.Errorf("a later event shares the key %q", scan.DedupeKey())
	}
}

func TestStringAndNumericSceneGiveTheSameEvent(t *testing.T) {
	// QR_SCENE 42 and QR_STR_SCENE "42" push the same EventKey text, once in
	// CDATA and once (as some senders write numbers) bare.
	for _, ev := range []struct{ name, cdata, bare string }{
		{"SCAN", `<Event><![CDATA[SCAN]]></Event><EventKey><![CDATA[42]]></EventKey></xml>`, `<Event><![CDATA[SCAN]]></Event><EventKey>42</EventKey></xml>`},
		{"subscribe", `<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_42]]></EventKey></xml>`, `<Event><![CDATA[subscribe]]></Event><EventKey>qrscene_42</EventKey></xml>`},
	} {
		t.Run(ev.name, func(t *testing.T) {
			a, err := wechat.ParseMessage([]byte(eventHead + ev.cdata))
			if err != nil {
				t.Fatal(err)
			}
			b, err := wechat.ParseMessage([]byte(eventHead + ev.bare))
			if err != nil {
				t.Fatal(err)
			}
			sa, okA := a.Scene()
			sb, okB := b.Scene()
			if sa != "42" || sb != "42" || !okA || !okB {
				t.Errorf("scenes %q/%v and %q/%v, want 42", sa, okA, sb, okB)
			}
			if a.DedupeKey() != b.DedupeKey() {
				t.Errorf("keys differ: %q and %q", a.DedupeKey(), b.DedupeKey())
			}
		})
	}
}

func TestParseMessageErrorsSayWhatFailed(t *testing.T) {
	_, err := wechat.ParseMessage([]byte(`<message/>`))
	if !errors.Is(err, wechat.ErrMalformed) || !strings.Contains(err.Error(), "xml") {
		t.Errorf("ParseMessage(<message/>) = %v", err)
	}
}
