package wechat_test

// Known-answer vectors from §10 of docs/wechat.md (computed and
// round-tripped by an independent program), and published vectors of peer
// SDKs (§10(d)).

// §10 inputs.
const (
	vToken     = "wechatqr"
	vTimestamp = "1732500000"
	vNonce     = "468035"
	vAppID     = "wx5823bf96d3bd56c7"
	vAESKey    = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
	vRandom    = "0123456789abcdef"
	vOpenID    = "oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ"
	vTicket    = "gQHk7zwAAAAAAAAAAS5odHRwOi8vd2VpeGluLnFxLmNvbS9xLzAyS0FU"

	// (a) URL-verification signature.
	vSignature = "9a41a5e06602c05fda0d6cf4893954f9e69cff09"

	// (c) The SCAN event (360 bytes) and its Encrypt with random vRandom.
	vScanXML = `<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><FromUserName><![CDATA[oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ]]></FromUserName><CreateTime>1732500000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[SCAN]]></Event><EventKey><![CDATA[riddle-1]]></EventKey><Ticket><![CDATA[gQHk7zwAAAAAAAAAAS5odHRwOi8vd2VpeGluLnFxLmNvbS9xLzAyS0FU]]></Ticket></xml>`
	vEncrypt = "sKqRbbiSUnDhFHOvPjtUMVq51ghn1yEkqG0VP3+V0pvwTrz8cd30DJRx7864wxXpZzid0xqMr8S8xZUOMZ13A17nXsUVEQmwCBE1bWMuRxp5JjS9URPsOmDEX5QkC74vR7JlylsOdhIRkPL8xkSdxpPMuGWkTXoL9ZEPF7OWIhDJKtorRCMNi8zt63nIQzVIy7ncUCPMTxRe1L1V8WN5CoDzZR9L6CwNdo5og7NONJetnmSkJetlKcMTAvtdGuPjb3cOFZKtaSKYvxEos5nQt5RUSkxjTT1f9H+z7oxLMXvrM/h0WBkf7oN9kkL3pfSxHt661FYArNL9etfvrCRf3QEEgsE0BkZLgsZM9dTp4rMvVWQ77lRA1bras0uXINUTGawI9DNGnWSyySB8nfHLsvBlq3zJGV6kZUv4NFMYof0w+BrtkK6frlFu7aG4Qdh4EWyLK2mrgaMQZ5npIIXLMrP/zHdHm9Fwz8ldWC1j35e4qXjcF0YVe909yvvGIjc1jPpEuPhy8CmIVM2g8Xe4rK2Zm9Fa+91AxygFVBy7yT8="

	// (b) msg_signature over vToken, vTimestamp, vNonce, vEncrypt.
	vMsgSignature = "0884b5487dbc6ef1a751989bc6a04b141db27bf1"

	// (c′) The encrypted text reply.
	vReplyXML          = `<xml><ToUserName><![CDATA[oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ]]></ToUserName><FromUserName><![CDATA[gh_0123456789ab]]></FromUserName><CreateTime>1732500001</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[Answer: a map]]></Content></xml>`
	vReplyRandom       = "fedcba9876543210"
	vReplyTimestamp    = 1732500001
	vReplyNonce        = "1320050734"
	vReplyEncrypt      = "P9TP8OO8ZpJE35Ha/87+5D3pib52z9gM8lfWZ3Xh1VVxNWc0PTAXFVFFCuJUnOwg0JjJfNyx0yuZabx73BHWJyFRr14DHpWDUfBTTefCPxdaBj+XhuMNNmgKgu71l8xpFVrwIrbExGKr0ywTdcpuweGD8NGaAGntTfbEngjnrvgKtakGjzC6kUfqf14wk8AekjMAWkOPIat1lVf+J5vbYQaBkOZQVM1RCjshPR0MgpVT5dr1xPZMs5J3t8fXdyYCD7Y5u0dLECEdbYZ5MbTHDq831LE1HVU76711FzGKVLXDgVM14AtRS3Ufkb8k2mu7me8amepWGuBqSxjblEsgf/WSgSqLA0Z7W1t/qYkoCErLK/A9X1VC3hbea9Lfs0+U"
	vReplyMsgSignature = "962ed094f1a02e16189fd4a6d09efb8d0afa1ffb"

	// (e) Failure vectors built from msg "<xml/>" under the §10 key.
	vE0 = "sKqRbbiSUnDhFHOvPjtUMVrRt/nZ49onIJ4U2IaM+lKi2+DLXfSbcbndMxavspBODhUWhwQbe7YJJRq7VJ57pg==" // control: pad of 20, decrypts
	vE2 = "sKqRbbiSUnDhFHOvPjtUMVrRt/nZ49onIJ4U2IaM+lKi2+DLXfSbcbndMxavspBOrmYMLfwpt+uHlw1C5xgqxQ==" // last byte 0x00
	vE3 = "sKqRbbiSUnDhFHOvPjtUMVrRt/nZ49onIJ4U2IaM+lKi2+DLXfSbcbndMxavspBOI1xfjg+82RWtJeZkfT1JHw==" // last byte 0x21
	vE4 = "sKqRbbiSUnDhFHOvPjtUMWhmQdXcGyz7oZ8HcQjNy83rga0T6qNwnXH/tzGfdzwlTD+7qxnbckKFNetk6yhnkg==" // length field 0xFFFFFFFF
)

// Published vectors reproduced in §10(d), in full as their repositories
// state them.
const (
	// binarywang/WxJava WxCryptUtilTest (the official WXBizMsgCrypt sample's
	// inputs): Token pamtest.
	wjAESKey   = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
	wjAppID    = "wxb11529c136998cb6"
	wjRandom   = "aaaabbbbccccdddd"
	wjMsg      = "我是中文abcd123"
	wjEncrypt  = "jn1L23DB+6ELqJ+6bruv21Y6MD7KeIfP82D6gU39rmkgczbWwt5+3bnyg5K55bgVtVzd832WzZGMhkP72vVOfg=="
	wjMsg2     = "<xml><ToUserName><![CDATA[oia2Tj我是中文jewbmiOUlr6X-1crbLOvLw]]></ToUserName><FromUserName><![CDATA[gh_7f083739789a]]></FromUserName><CreateTime>1407743423</CreateTime><MsgType><![CDATA[video]]></MsgType><Video><MediaId><![CDATA[eYJ1MbwPRJtOvIEabaxHs7TX2D-HV71s79GUxqdUkjm6Gs2Ed1KF3ulAOA9H1xG0]]></MediaId><Title><![CDATA[testCallBackReplyVideo]]></Title><Description><![CDATA[testCallBackReplyVideo]]></Description></Video></xml>"
	wjEncrypt2 = "jn1L23DB+6ELqJ+6bruv23M2GmYfkv0xBh2h+XTBOKVKcgDFHle6gqcZ1cZrk3e1qjPQ1F4RsLWzQRG9udbKWesxlkupqcEcW7ZQweImX9+wLMa0GaUzpkycA8+IamDBxn5loLgZpnS7fVAbExOkK5DYHBmv5tptA9tklE/fTIILHR8HLXa5nQvFb3tYPKAlHF3rtTeayNf0QuM+UW/wM9enGIDIJHF7CLHiDNAYxr+r+OrJCmPQyTy8cVWlu9iSvOHPT/77bZqJucQHQ04sq7KZI27OcqpQNSto2OdHCoTccjggX5Z9Mma0nMJBU+jLKJ38YB1fBIz+vBzsYjrTmFQ44YfeEuZ+xRTQwr92vhA9OxchWVINGC50qE/6lmkwWTwGX9wtQpsJKhP+oS7rvTY8+VdzETdfakjkwQ5/Xka042OlUb1/slTwo4RscuQ+RdxSGvDahxAJ6+EAjLt9d8igHngxIbf6YyqqROxuxqIeIch3CssH/LqRs+iAcILvApYZckqmA7FNERspKA5f8GoJ9sv8xmGvZ9Yrf57cExWtnX8aCMMaBropU/1k+hKP5LVdzbWCG0hGwx/dQudYR/eXp3P0XxjlFiy+9DMlaFExWUZQDajPkdPrEeOwofJb"

	// wechatpy/wechatpy tests/test_crypto.py (WeCom; the same cipher).
	pyToken     = "123456"
	pyAESKey    = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
	pyCorpID    = "wx49f0ab532d5d035a"
	pyRandom    = "1234567890123456"
	pyTimestamp = "1411525903"
	pyNonce     = "461056294"
	pyReply     = "<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n<ToUserName><![CDATA[messense]]></ToUserName>\n<AgentID>1</AgentID>\n<CreateTime>1411525903</CreateTime>\n</xml>"
	pyReplyEnc  = "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
	pyReplySig  = "407518b7649e86ef23978113f92d27afa9296533"
	pyPushBody  = "<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName>\n<Encrypt><![CDATA[RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=]]></Encrypt>\n<AgentID><![CDATA[1]]></AgentID>\n</xml>"
	pyPushSig   = "74d92dfeb87ba7c714f89d98870ae5eb62dff26d"
	// WeCom's GET: msg_signature over token, timestamp, nonce and echostr.
	pyEchoStr       = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
	pyEchoTimestamp = "1411443780"
	pyEchoNonce     = "437374425"
	pyEchoSig       = "dd6b9c95b495b3f7e2901bfbc76c664930ffdb96"

	// chanxuehong/wechat internal/util/aes_crypto_test.go (before the bulk
	// rename to "tests text message" noted in §10(d)).
	cxAESKey  = "AdiqDDDvUNCeE1ZW5XJmjf9fqNBJpGBs4vL4cHKmHBS"
	cxAppID   = "wx45f133bf6fce646e"
	cxRandom  = "cc9632a98304f81c"
	cxMsg     = "<xml><ToUserName><![CDATA[gh_b1eb3f8bd6c6]]></ToUserName>\n<FromUserName><![CDATA[okPEat9FRX96xG8JQvTxHLpzDV64]]></FromUserName>\n<CreateTime>1458889120</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test text message]]></Content>\n<MsgId>6265881059295447969</MsgId>\n</xml>"
	cxEncrypt = "gsKjKVChgrDDifoOdfrL/MWujrKxnSR1jBopv0zEdHFQXcx5I0bf4UxIRjektLHEziRxpU5zTw0s+gYF3WOFjk" +
		"In30gzQl9XNKr2A+DCHVG05I2EcbOnnAR5EYgjGLAipra5nOfCPPIRFQTZ7SdanniXX73YOiCAKJlNH21+PApcYu4rPXxJ4eTXbBLwmfnS" +
		"l7iojDX1LQIcC3FYmaapMQq/u+sJGsxshp4dLXJ6A5Ji3cSYAzXRVIxbNlHN1MWfdcZ0O5+ZtOU6dZiD8hJ4kkxh05EfOedWFjUy7ZhmXg" +
		"rpZ4WpYPsrythXHE2Bg1Ohz8uf5h5X31yuU/3FPoa8rD21pfZnAjBT1QCkn6MxtL5lR+yoQReLwElVbtB6yJFPIZ+n9Qh/yKfIasxkzgIE" +
		"o0pwPEbS17WCTyvRItJtU6tlo3rawJX+fsV63tKIfmLZjyZPDlV9/ka/nA/DT0KODw=="
)

// random16 turns a 16-character vector string into Seal's random argument.
func random16(s string) [16]byte {
	if len(s) != 16 {
		panic("random16: need 16 bytes, got " + s)
	}
	var r [16]byte
	copy(r[:], s)
	return r
}
