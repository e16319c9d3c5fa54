package callback

import (
	"bytes"
	"testing"

	"wechatqr/shared/wechat"
)

func TestAClaimKeepsTheReplyWithoutTheFollowerAndRebuildsItByteForByte(t *testing.T) {
	for _, openid := range []string{"oKqdL5Vn7Ek3wOq2fG8mZ1xYc9aQ", "o]]>x<y&z"} {
		msg := &wechat.Message{ToUserName: "gh_0123456789ab", FromUserName: openid, CreateTime: 1732500000}
		to, from := msg.FromUserName, msg.ToUserName
		for name, reply := range map[string][]byte{
			"text":  wechat.AppendText(nil, to, from, 1732500001, "Answer: a map ]]> <CreateTime>"),
			"news":  wechat.AppendNews(nil, to, from, 1732500001, []wechat.Article{{Title: "T", Description: "D", PicURL: "https://e.com/p.jpg", URL: "https://e.com"}}),
			"image": wechat.AppendImage(nil, to, from, 1732500001, "MEDIA_ID"),
		} {
			stored := storedReply(msg, reply)
			if bytes.Contains(stored, []byte(openid)) || bytes.Contains(stored, []byte(from)) {
				t.Errorf("%s for %q: the claim keeps %q, which names the follower or the account", name, openid, stored)
			}
			if len(stored) >= len(reply) {
				t.Errorf("%s: stored %d bytes of a %d-byte reply", name, len(stored), len(reply))
			}
			if got := answerFrom(msg, stored); !bytes.Equal(got, reply) {
				t.Errorf("%s for %q: rebuilt\n%s\nwant\n%s", name, openid, got, reply)
			}
		}
	}
	msg := &wechat.Message{ToUserName: "gh_0123456789ab", FromUserName: "o1"}
	if stored := storedReply(msg, success); len(stored) != 0 || !bytes.Equal(answerFrom(msg, stored), success) {
		t.Errorf("success is stored as %q and answered as %q; want nothing and success", stored, answerFrom(msg, stored))
	}
	// A reply that does not start with the push's head (another's, or none) is kept whole.
	other := wechat.AppendText(nil, "someone-else", "gh_0123456789ab", 1, "x")
	if got := answerFrom(msg, storedReply(msg, other)); !bytes.Equal(got, other) {
		t.Errorf("a foreign reply came back as %q", got)
	}
}
