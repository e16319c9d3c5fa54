package wechattest_test

import (
	"errors"
	"io"
	"net/url"
	"strings"
	"testing"

	"wechatqr/shared/wechat"
	"wechatqr/shared/wechat/wechattest"
)

// §10 of docs/wechat.md.
const (
	vToken     = "wechatqr"
	vTimestamp = 1732500000
	vNonce     = "468035"
	vAppID     = "wx5823bf96d3bd56c7"
	vAESKey    = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	vRandom    = "0123456789abcdef"
	vOpenID    = "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ"
	vTicket    = "gQHk7zwAAAAAAAAAAS5odHRwOi8vd2VpeGluLnFxLmNvbS9xLzAyS0FU"

	vScanXML      = `<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ]]></FromUserName><CreateTime>1732500000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[SCAN]]></Event><EventKey><![CDATA[riddle-1]]></EventKey><Ticket><![CDATA[gQHk7zwAAAAAAAAAAS5odHRwOi8vd2VpeGluLnFxLmNvbS9xLzAyS0FU]]></Ticket></xml>`
	vEncrypt      = "sKqRbbiSUnDhFHOvPjtUMVq51ghn1yEkqG0VP3+V0pvwTrz8cd30DJRx7864wxXpZzid0xqMr8S8xZUOMZ13A17nXsUVEQmwCBE1bWMuRxp5JjS9URPsOmDEX5QkC74vR7JlylsOdhIRkPL8xkSdxpPMuGWkTXoL9ZEPF7OWIhDJKtorRCMNi8zt63nIQzVIy7ncUCPMTxRe1L1V8WN5CoDzZR9L6CwNdo5og7NONJetnmSkJetlKcMTAvtdGuPjb3cOFZKtaSKYvxEos5nQt5RUSkxjTT1f9H+z7oxLMXvrM/h0WBkf7oN9kkL3pfSxHt661FYArNL9etfvrCRf3QEEgsE0BkZLgsZM9dTp4rMvVWQ77lRA1bras0uXINUTGawI9DNGnWSyySB8nfHLsvBlq3zJGV6kZUv4NFMYof0w+BrtkK6frlFu7aG4Qdh4EWyLK2mrgaMQZ5npIIXLMrP/zHdHm9Fwz8ldWC1j35e4qXjcF0YVe909yvvGIjc1jPpEuPhy8CmIVM2g8Xe4rK2Zm9Fa+91AxygFVBy7yT8="
	vSignature    = "9a41a5e06602c05fda0d6cf4893954f9e69cff09"
	vMsgSignature = "0884b5487dbc6ef1a751989bc6a04b141db27bf1"

	head = `<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ]]></FromUserName><CreateTime>1732500000</CreateTime>`
)

func signer() wechattest.Signer {
	return wechattest.Signer{Token: vToken, AppID: vAppID, EncodingAESKey: vAESKey}
}

func TestEventXMLIsWhatWeChatSends(t *testing.T) {
	s := signer()
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"§10(c) SCAN", s.ScanXML(vOpenID, "riddle-1", vTimestamp, vTicket), vScanXML},
		{"§5 subscribe through a code", s.SubscribeXML(vOpenID, "riddle-1", vTimestamp, "TICKET"),
			head + `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_riddle-1]]></EventKey><Ticket><![CDATA[TICKET]]></Ticket></xml>`},
		{"§5 plain subscribe drops EventKey and Ticket", s.SubscribeXML(vOpenID, "", vTimestamp, "TICKET"),
			head + `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event></xml>`},
		{"§5 unsubscribe", s.UnsubscribeXML(vOpenID, vTimestamp),
			head + `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[unsubscribe]]></Event></xml>`},
		{"§5 text message", s.TextXML(vOpenID, "hello", vTimestamp, 1234567890123456),
			head + `<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content><MsgId>1234567890123456</MsgId></xml>`},
		{"text with ]]> splits the CDATA", s.TextXML(vOpenID, "a]]>b", vTimestamp, 18446744073709551615),
			head + `<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[a]]]]><![CDATA[>b]]></Content><MsgId>18446744073709551615</MsgId></xml>`},
		{"another account's original ID", wechattest.Signer{OriginalID: "gh_ffffffffffff"}.UnsubscribeXML("o", 1),
			`<xml><ToUserName><![CDATA[gh_ffffffffffff]]></ToUserName><FromUserName><![CDATA[o]]></FromUserName><CreateTime>1</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[unsubscribe]]></Event></xml>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", tt.got, tt.want)
			}
		})
	}
}

func TestEventXMLParsesToTheScene(t *testing.T) {
	s := signer()
	tests := []struct {
		name      string
		body      []byte
		wantScene string
		wantOK    bool
	}{
		{"subscribe through a code", s.SubscribeXML(vOpenID, "42", vTimestamp, "T"), "42", true},
		{"SCAN", s.ScanXML(vOpenID, "login:9f2c", vTimestamp, "T"), "login:9f2c", true},
		{"plain subscribe", s.SubscribeXML(vOpenID, "", vTimestamp, ""), "", false},
		{"unsubscribe", s.UnsubscribeXML(vOpenID, vTimestamp), "", false},
		{"text", s.TextXML(vOpenID, "qrscene_42", vTimestamp, 1), "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := wechat.ParseMessage(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if scene, ok := m.Scene(); scene != tt.wantScene || ok != tt.wantOK {
				t.Errorf("Scene() = %q, %v; want %q, %v", scene, ok, tt.wantScene, tt.wantOK)
			}
		})
	}
}

func TestPushSafeModeMatchesVectorB(t *testing.T) {
	s := signer()
	s.Rand = strings.NewReader(vRandom)
	query, body, err := s.Push([]byte(vScanXML), wechattest.Safe, vTimestamp, vNonce)
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{
		"signature":     {vSignature},
		"timestamp":     {"1732500000"},
		"nonce":         {vNonce},
		"openid":        {vOpenID},
		"encrypt_type":  {"aes"},
		"msg_signature": {vMsgSignature},
	}
	if query.Encode() != want.Encode() {
		t.Errorf("query\n%s\nwant\n%s", query.Encode(), want.Encode())
	}
	wantBody := `<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><Encrypt><![CDATA[` + vEncrypt + `]]></Encrypt></xml>`
	if string(body) != wantBody {
		t.Errorf("body\n%s\nwant\n%s", body, wantBody)
	}
}

func TestPushRoundTripsThroughTheVerifier(t *testing.T) {
	s := signer()
	c, err := wechat.NewCipher(vAESKey, vAppID)
	if err != nil {
		t.Fatal(err)
	}
	inners := map[string][]byte{
		"subscribe":       s.SubscribeXML(vOpenID, "riddle-1", vTimestamp, vTicket),
		"SCAN":            s.ScanXML(vOpenID, "riddle-1", vTimestamp, vTicket),
		"plain subscribe": s.SubscribeXML(vOpenID, "", vTimestamp, ""),
		"unsubscribe":     s.UnsubscribeXML(vOpenID, vTimestamp),
		"text":            s.TextXML(vOpenID, "你好 ]]> <b>&", vTimestamp, 6265881059295447969),
	}
	for _, mode := range []wechattest.Mode{wechattest.Plaintext, wechattest.Compatible, wechattest.Safe} {
		for name, inner := range inners {
			t.Run(mode.String()+" "+name, func(t *testing.T) {
				want, err := wechat.ParseMessage(inner)
				if err != nil {
					t.Fatal(err)
				}
				q, body, err := s.Push(inner, mode, vTimestamp, "9876")
				if err != nil {
					t.Fatal(err)
				}
				if err := wechat.VerifySignature(vToken, q.Get("timestamp"), q.Get("nonce"), q.Get("signature")); err != nil {
					t.Fatalf("signature: %v", err)
				}
				if q.Get("openid") != vOpenID {
					t.Errorf("openid = %q", q.Get("openid"))
				}
				if mode == wechattest.Plaintext {
					if q.Has("encrypt_type") || q.Has("msg_signature") {
						t.Errorf("plaintext push with encryption parameters: %v", q)
					}
					if string(body) != string(inner) {
						t.Errorf("plaintext body changed:\n%s", body)
					}
					return
				}
				if q.Get("encrypt_type") != "aes" {
					t.Errorf("encrypt_type = %q", q.Get("encrypt_type"))
				}
				got, err := c.Open(vToken, q.Get("timestamp"), q.Get("nonce"), q.Get("msg_signature"), body)
				if err != nil || got != want {
					t.Fatalf("Open = %+v, %v\nwant %+v", got, err, want)
				}
				env, err := wechat.ParseMessage(body)
				if err != nil {
					t.Fatal(err)
				}
				if mode == wechattest.Safe {
					if (env != wechat.Message{ToUserName: "gh_0123456789ab", Encrypt: env.Encrypt}) {
						t.Errorf("safe body carries more than ToUserName and Encrypt: %+v", env)
					}
					return
				}
				plain := env
				plain.Encrypt = ""
				if plain != want || env.Encrypt == "" {
					t.Errorf("compatible body = %+v, want the plaintext fields %+v and an Encrypt", env, want)
				}
			})
		}
	}
}

func TestPushFailures(t *testing.T) {
	inner := signer().UnsubscribeXML(vOpenID, vTimestamp)
	tests := []struct {
		name   string
		signer wechattest.Signer
		inner  []byte
		mode   wechattest.Mode
		is     error
	}{
		{"unknown mode", signer(), inner, wechattest.Mode(7), nil},
		{"compatible mode needs an XML document", signer(), []byte("not xml"), wechattest.Compatible, nil},
		{"bad EncodingAESKey", wechattest.Signer{Token: vToken, AppID: vAppID, EncodingAESKey: "short"}, inner, wechattest.Safe, wechat.ErrAESKey},
		{"no AppID", wechattest.Signer{Token: vToken, EncodingAESKey: vAESKey}, inner, wechattest.Safe, wechat.ErrAppID},
		{"Rand runs dry", wechattest.Signer{Token: vToken, AppID: vAppID, EncodingAESKey: vAESKey, Rand: strings.NewReader("short")}, inner, wechattest.Safe, io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, body, err := tt.signer.Push(tt.inner, tt.mode, vTimestamp, vNonce)
			if err == nil || q != nil || body != nil {
				t.Fatalf("Push = %v, %q, %v; want an error", q, body, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v, want %v", err, tt.is)
			}
		})
	}
}

func TestPushPlaintextSendsMalformedInnerAsIs(t *testing.T) {
	// For fault injection: WeChat never sends this, the emulator may.
	q, body, err := signer().Push([]byte("<xml><oops"), wechattest.Plaintext, vTimestamp, vNonce)
	if err != nil || string(body) != "<xml><oops" || q.Has("openid") {
		t.Errorf("Push = %v, %q, %v", q, body, err)
	}
}

func TestVerification(t *testing.T) {
	q := signer().Verification("echo 123", vTimestamp, vNonce)
	if q.Get("signature") != vSignature || q.Get("echostr") != "echo 123" || q.Get("timestamp") != "1732500000" || q.Get("nonce") != vNonce {
		t.Errorf("Verification = %v", q)
	}
	if q.Has("msg_signature") || q.Has("encrypt_type") {
		t.Errorf("an Official Account's GET carries no msg_signature: %v", q)
	}
}

func TestOpenReply(t *testing.T) {
	s := signer()
	c, err := wechat.NewCipher(vAESKey, vAppID)
	if err != nil {
		t.Fatal(err)
	}
	reply := wechat.AppendText(nil, vOpenID, "gh_0123456789ab", 1732500001, "Answer: a map")
	sealed, err := c.Seal(nil, vToken, reply, 1732500001, "1320050734")
	if err != nil {
		t.Fatal(err)
	}
	otherApp, err := wechat.NewCipher(vAESKey, "wx0000000000000000")
	if err != nil {
		t.Fatal(err)
	}
	forOtherApp, _ := otherApp.Seal(nil, vToken, reply, 1, "n")
	forOtherToken, _ := c.Seal(nil, "another-token", reply, 1, "n")

	tests := []struct {
		name string
		body []byte
		want []byte
		is   error
	}{
		{"opens a sealed reply", sealed, reply, nil},
		{"passes success through", []byte("success"), []byte("success"), nil},
		{"passes an empty body through", []byte{}, []byte{}, nil},
		{"passes a plaintext reply through", reply, reply, nil},
		{"rejects a reply signed with another Token", forOtherToken, nil, wechat.ErrMsgSignature},
		{"rejects a reply for another AppID", forOtherApp, nil, wechat.ErrAppID},
		{"rejects a TimeStamp that is not a bare number", []byte(strings.Replace(string(sealed), "<TimeStamp>1732500001", "<TimeStamp><![CDATA[1732500001]]>x", 1)), nil, wechat.ErrMalformed},
		{"rejects a tampered Encrypt", []byte(strings.Replace(string(sealed), "<Encrypt><![CDATA[", "<Encrypt><![CDATA[AAAA", 1)), nil, wechat.ErrMsgSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.OpenReply(tt.body)
			if !errors.Is(err, tt.is) || (err == nil) != (tt.is == nil) {
				t.Fatalf("OpenReply = %q, %v; want %v", got, err, tt.is)
			}
			if string(got) != string(tt.want) {
				t.Errorf("OpenReply = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRequest(t *testing.T) {
	s := signer()
	q, body, err := s.Push(s.ScanXML(vOpenID, "riddle-1", vTimestamp, vTicket), wechattest.Safe, vTimestamp, vNonce)
	if err != nil {
		t.Fatal(err)
	}
	r := s.Request("/wechat?stage=test", q, body)
	if r.Method != "POST" || r.URL.Path != "/wechat" || r.Header.Get("Content-Type") != "text/xml" {
		t.Errorf("request %s %s (%s)", r.Method, r.URL, r.Header.Get("Content-Type"))
	}
	got := r.URL.Query()
	if got.Get("stage") != "test" || got.Get("msg_signature") != q.Get("msg_signature") || got.Get("signature") != q.Get("signature") {
		t.Errorf("query %v", got)
	}
	read, _ := io.ReadAll(r.Body)
	if string(read) != string(body) {
		t.Errorf("body %q", read)
	}
}

func TestModeString(t *testing.T) {
	for m, want := range map[wechattest.Mode]string{wechattest.Plaintext: "plaintext", wechattest.Compatible: "compatible", wechattest.Safe: "safe", 9: "Mode(9)"} {
		if m.String() != want {
			t.Errorf("%d.String() = %q, want %q", int(m), m.String(), want)
		}
	}
}
