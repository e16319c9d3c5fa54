package wechat_test

import (
	"encoding/xml"
	"strings"
	"testing"

	"wechatqr/shared/wechat"
)

func TestAppendTextMatchesVectorCPrime(t *testing.T) {
	got := wechat.AppendText(nil, vOpenID, "gh_0123456789ab", 1732500001, "Answer: a map")
	if string(got) != vReplyXML {
		t.Errorf("AppendText =\n%s\nwant\n%s", got, vReplyXML)
	}
}

// The reply structs as xml.Marshal would write them, the reference the
// builders must match byte for byte.
type cdata struct {
	Text string `xml:",cdata"`
}

type marshalHead struct {
	XMLName      xml.Name `xml:"xml"`
	ToUserName   cdata
	FromUserName cdata
	CreateTime   int64
	MsgType      cdata
}

type marshalText struct {
	marshalHead
	Content cdata
}

type marshalImage struct {
	marshalHead
	MediaID cdata `xml:"Image>MediaId"`
}

type marshalItem struct {
	Title       cdata
	Description cdata
	PicURL      cdata `xml:"PicUrl"`
	URL         cdata `xml:"Url"`
}

type marshalNews struct {
	marshalHead
	ArticleCount int
	Items        []marshalItem `xml:"Articles>item"`
}

type marshalEnvelope struct {
	XMLName      xml.Name `xml:"xml"`
	Encrypt      cdata
	MsgSignature cdata
	TimeStamp    int64
	Nonce        cdata
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := xml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Contents that stress the CDATA writer, all valid XML text.
var replyContents = []string{
	"Answer: a map",
	"",
	"]]>",
	"a]]>b]]>c",
	"]]]]>",
	"]]",
	"<b>bold</b> & <![CDATA[x]]>",
	"你好\n世界\t🌏",
	"line one\nline two",
}

func TestRepliesMatchXMLMarshal(t *testing.T) {
	for _, content := range replyContents {
		head := marshalHead{ToUserName: cdata{vOpenID}, FromUserName: cdata{"gh_0123456789ab"}, CreateTime: 1732500001}
		t.Run("text "+content, func(t *testing.T) {
			h := head
			h.MsgType = cdata{"text"}
			want := mustMarshal(t, marshalText{h, cdata{content}})
			if got := wechat.AppendText(nil, vOpenID, "gh_0123456789ab", 1732500001, content); string(got) != want {
				t.Errorf("AppendText =\n%s\nwant\n%s", got, want)
			}
		})
		t.Run("image "+content, func(t *testing.T) {
			h := head
			h.MsgType = cdata{"image"}
			want := mustMarshal(t, marshalImage{h, cdata{content}})
			if got := wechat.AppendImage(nil, vOpenID, "gh_0123456789ab", 1732500001, content); string(got) != want {
				t.Errorf("AppendImage =\n%s\nwant\n%s", got, want)
			}
		})
		t.Run("news "+content, func(t *testing.T) {
			h := head
			h.MsgType = cdata{"news"}
			want := mustMarshal(t, marshalNews{h, 1, []marshalItem{{cdata{content}, cdata{"d " + content}, cdata{"https://e.com/a.jpg"}, cdata{"https://e.com/?a=1&b=2"}}}})
			got := wechat.AppendNews(nil, vOpenID, "gh_0123456789ab", 1732500001,
				[]wechat.Article{{Title: content, Description: "d " + content, PicURL: "https://e.com/a.jpg", URL: "https://e.com/?a=1&b=2"}})
			if string(got) != want {
				t.Errorf("AppendNews =\n%s\nwant\n%s", got, want)
			}
		})
		t.Run("envelope "+content, func(t *testing.T) {
			want := mustMarshal(t, marshalEnvelope{Encrypt: cdata{content}, MsgSignature: cdata{vReplyMsgSignature}, TimeStamp: 1732500001, Nonce: cdata{content}})
			if got := wechat.AppendEnvelope(nil, content, vReplyMsgSignature, 1732500001, content); string(got) != want {
				t.Errorf("AppendEnvelope =\n%s\nwant\n%s", got, want)
			}
		})
	}
}

func TestRepliesRoundTripThroughParsers(t *testing.T) {
	for _, content := range replyContents {
		t.Run(content, func(t *testing.T) {
			b := wechat.AppendText(nil, vOpenID, "gh_0123456789ab", 1732500001, content)
			m, err := checkAgainstOracle(t, b)
			if err != nil || m.Content != content || m.ToUserName != vOpenID || m.CreateTime != 1732500001 || m.MsgType != "text" {
				t.Errorf("parsed back as %+v, %v", m, err)
			}
		})
	}
}

func TestAppendNewsWritesEveryArticle(t *testing.T) {
	arts := []wechat.Article{{Title: "a"}, {Title: "b", URL: "u"}}
	got := string(wechat.AppendNews(nil, "o", "gh", 1, arts))
	want := `<xml><ToUserName><![CDATA[o]]></ToUserName><FromUserName><![CDATA[gh]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[news]]></MsgType>` +
		`<ArticleCount>2</ArticleCount><Articles><item><Title><![CDATA[a]]></Title><Description></Description><PicUrl></PicUrl><Url></Url></item>` +
		`<item><Title><![CDATA[b]]></Title><Description></Description><PicUrl></PicUrl><Url><![CDATA[u]]></Url></item></Articles></xml>`
	if got != want {
		t.Errorf("AppendNews =\n%s\nwant\n%s", got, want)
	}
	if got := string(wechat.AppendNews(nil, "o", "gh", 1, nil)); !strings.HasSuffix(got, "<ArticleCount>0</ArticleCount><Articles></Articles></xml>") {
		t.Errorf("AppendNews with no articles = %s", got)
	}
}

func TestAppendEnvelopeLayout(t *testing.T) {
	// §4: CDATA on Encrypt, MsgSignature and Nonce; TimeStamp bare.
	got := string(wechat.AppendEnvelope(nil, "QUJD", vReplyMsgSignature, 1732500001, vReplyNonce))
	want := `<xml><Encrypt><![CDATA[QUJD]]></Encrypt><MsgSignature><![CDATA[962ed094f1a02e16189fd4a6d09efb8d0afa1ffb]]></MsgSignature><TimeStamp>1732500001</TimeStamp><Nonce><![CDATA[1320050734]]></Nonce></xml>`
	if got != want {
		t.Errorf("AppendEnvelope =\n%s\nwant\n%s", got, want)
	}
}

func TestAppendBuildersKeepDst(t *testing.T) {
	prefix := []byte("HTTP body so far|")
	dst := append(make([]byte, 0, 1024), prefix...)
	builders := map[string]func([]byte) []byte{
		"text":     func(d []byte) []byte { return wechat.AppendText(d, "o", "gh", 1, "c") },
		"image":    func(d []byte) []byte { return wechat.AppendImage(d, "o", "gh", 1, "m") },
		"news":     func(d []byte) []byte { return wechat.AppendNews(d, "o", "gh", 1, []wechat.Article{{Title: "t"}}) },
		"envelope": func(d []byte) []byte { return wechat.AppendEnvelope(d, "e", "s", 1, "n") },
	}
	for name, build := range builders {
		t.Run(name, func(t *testing.T) {
			got := build(dst)
			alone := build(nil)
			if string(got) != string(prefix)+string(alone) {
				t.Errorf("appending to dst gave %q, want the prefix then %q", got, alone)
			}
		})
	}
}

func TestAppendTextReplacesCharactersXMLCannotCarry(t *testing.T) {
	// encoding/xml would write these raw into CDATA and produce a document
	// no parser (nor WeChat) accepts; the builder writes U+FFFD instead.
	tests := []struct {
		name, content, want string
	}{
		{"NUL", "a\x00b", "a\uFFFDb"},
		{"escape", "a\x1bb", "a\uFFFDb"},
		{"invalid UTF-8", "a\xffb\xc3", "a\uFFFDb\uFFFD"},
		{"U+FFFF", "a\uFFFFb", "a\uFFFDb"},
		{"inside a split ]]>", "\x01]]>\x02", "\uFFFD]]>\uFFFD"},
		{"U+FFFD itself stays", "a\uFFFDb", "a\uFFFDb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := wechat.AppendText(nil, "o", "gh", 1, tt.content)
			m, err := checkAgainstOracle(t, b)
			if err != nil || m.Content != tt.want {
				t.Errorf("content parsed back as %q, %v; want %q", m.Content, err, tt.want)
			}
		})
	}
}
