package wechat

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"math"
	"slices"
	"strconv"
)

// Seal encrypts a passive reply (as built by AppendText and friends), signs
// it and appends the envelope of §4 to dst:
//
//	<xml><Encrypt>…</Encrypt><MsgSignature>…</MsgSignature><TimeStamp>…</TimeStamp><Nonce>…</Nonce></xml>
//
// with MsgSignature = Sign(token, timestamp, nonce, Encrypt). The request's
// timestamp and nonce may be reused (as silenceper/wechat does) or fresh ones
// given. dst may be reply[:0] to reuse the reply's storage; it must not
// otherwise overlap reply. With enough capacity in dst, Seal does not
// allocate: it encrypts in the spare capacity past the envelope.
func (c *Cipher) Seal(dst []byte, token string, reply []byte, timestamp int64, nonce string) ([]byte, error) {
	if uint64(len(reply)) > math.MaxUint32 {
		return dst, ErrMessageLength
	}
	return c.seal(dst, nil, token, reply, timestamp, nonce), nil
}

// SealWithRandom is Seal with a caller-chosen random prefix: deterministic,
// for known-answer vectors and reproducible tests. reply must be shorter than
// 4 GiB.
func (c *Cipher) SealWithRandom(dst []byte, random [16]byte, token string, reply []byte, timestamp int64, nonce string) []byte {
	return c.seal(dst, &random, token, reply, timestamp, nonce)
}

const envelopeHead = "<xml><Encrypt><![CDATA["

func (c *Cipher) seal(dst []byte, random *[16]byte, token string, reply []byte, timestamp int64, nonce string) []byte {
	n := c.plainLen(len(reply))
	encLen := base64.StdEncoding.EncodedLen(n)
	base := len(dst)
	encAt := base + len(envelopeHead)
	// Layout in dst's capacity: head, base64 text, then the plaintext as
	// scratch space, encrypted in place and encoded into the gap before it.
	// The tail is appended over the scratch once it is no longer needed.
	dst = slices.Grow(dst, len(envelopeHead)+encLen+n+len(envelopeTailEstimate)+len(nonce))
	p := dst[encAt+encLen : encAt+encLen+n]
	copy(p[headerLen:], reply) // first, in case dst is reply[:0]
	if random != nil {
		copy(p, random[:])
	} else {
		rand.Read(p[:randomLen]) // never fails: crypto/rand crashes the program instead (Go 1.24+)
	}
	c.frameAndEncrypt(p, len(reply))
	dst = append(dst, envelopeHead...)
	dst = dst[:encAt+encLen]
	base64.StdEncoding.Encode(dst[encAt:], p)

	var tsBuf [20]byte
	ts := strconv.AppendInt(tsBuf[:0], timestamp, 10)
	var sig [sigLen]byte
	signTo(&sig, []string{token, string(ts), nonce}, dst[encAt:])

	dst = append(dst, "]]></Encrypt><MsgSignature><![CDATA["...)
	dst = append(dst, sig[:]...)
	dst = append(dst, "]]>"...)
	return appendEnvelopeTail(dst, timestamp, nonce)
}

// envelopeTailEstimate sizes the growth in seal; only its length matters.
const envelopeTailEstimate = "]]></Encrypt><MsgSignature><![CDATA[0123456789012345678901234567890123456789]]></MsgSignature><TimeStamp>-9223372036854775808</TimeStamp><Nonce><![CDATA[]]></Nonce></xml>"

// Open authenticates and decrypts a push received in compatible or safe
// mode, following §3 after the signature check: parse the envelope, verify
// msg_signature over its Encrypt text as received, decrypt, check the AppID,
// parse the inner message. It returns only the decrypted message: in
// compatible mode the plaintext copy in the body is not trusted.
//
// Open does not check the query's signature or timestamp: call
// VerifySignature (and CheckTimestamp) first, as for every request.
func (c *Cipher) Open(token, timestamp, nonce, msgSignature string, body []byte) (Message, error) {
	// The Encrypt text is verified and decoded where it lies in the body;
	// only a body outside the fast grammar pays for a parsed copy.
	var enc []byte
	if spans, _, ok := scanMessage(body); ok && !spans[fEncrypt].joined {
		enc = body[spans[fEncrypt].lo:spans[fEncrypt].hi]
	} else {
		env, err := ParseMessage(body)
		if err != nil {
			return Message{}, err
		}
		enc = []byte(env.Encrypt)
	}
	if len(enc) == 0 {
		return Message{}, fmt.Errorf("%w: no Encrypt element", ErrMalformed)
	}
	var want [sigLen]byte
	signTo(&want, []string{token, timestamp, nonce}, enc)
	if !equalSig(&want, msgSignature) {
		return Message{}, ErrMsgSignature
	}
	inner, err := c.decryptBytes(enc)
	if err != nil {
		return Message{}, err
	}
	return ParseMessage(inner)
}
