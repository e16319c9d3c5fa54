package callback

import (
	"bytes"

	"wechatqr/shared/wechat"
)

// A claim keeps what answering a retry needs and no more: the reply without its
// head, which names the user and the account. Every delivery of a push carries
// both again, so the head is rebuilt from the retry itself, byte for byte. The
// stored bytes then hold no openid (erasure and retention need not look inside
// them), and the item is smaller; "success" is kept as nothing at all.

var createTimeTag = []byte("<CreateTime>")

// appendReplyHead appends the start of every passive reply to msg, up to its
// CreateTime, to dst.
func appendReplyHead(dst []byte, msg *wechat.Message) []byte {
	start := len(dst)
	dst = wechat.AppendText(dst, msg.FromUserName, msg.ToUserName, 0, "")
	return dst[:start+bytes.LastIndex(dst[start:], createTimeTag)]
}

// headRoom is room enough for a reply's head beyond its two names, so that
// building one takes a single allocation.
const headRoom = 160

// storedReply is what the claim of msg keeps of reply: a subslice of it.
func storedReply(msg *wechat.Message, reply []byte) []byte {
	if isSuccess(reply) {
		return nil
	}
	var buf [256]byte
	if rest, ok := bytes.CutPrefix(reply, appendReplyHead(buf[:0], msg)); ok {
		return rest
	}
	return reply
}

// answerFrom rebuilds the reply a claim of msg stored.
func answerFrom(msg *wechat.Message, stored []byte) []byte {
	switch {
	case len(stored) == 0:
		return success
	case bytes.HasPrefix(stored, createTimeTag):
		buf := make([]byte, 0, headRoom+len(msg.FromUserName)+len(msg.ToUserName)+len(stored))
		return append(appendReplyHead(buf, msg), stored...)
	}
	return stored
}
