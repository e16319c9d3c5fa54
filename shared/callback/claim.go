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

// replyHead is the start of every passive reply to msg, up to its CreateTime.
func replyHead(msg *wechat.Message) []byte {
	b := wechat.AppendText(nil, msg.FromUserName, msg.ToUserName, 0, "")
	return b[:bytes.LastIndex(b, createTimeTag)]
}

// storedReply is what the claim of msg keeps of reply.
func storedReply(msg *wechat.Message, reply []byte) []byte {
	if isSuccess(reply) {
		return nil
	}
	if rest, ok := bytes.CutPrefix(reply, replyHead(msg)); ok {
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
		return append(replyHead(msg), stored...)
	}
	return stored
}
