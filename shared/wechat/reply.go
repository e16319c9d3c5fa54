package wechat

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Passive replies (§6). Each builder appends one reply document to dst and
// returns the extended slice, like strconv.AppendInt, so a handler can reuse
// one buffer and build a reply without allocating. The layout is WeChat's:
// strings in CDATA, numbers bare, no XML header, no trailing newline, and it
// is byte for byte what xml.Marshal writes for structs with ",cdata" fields.
// ToUserName is the push's FromUserName (the user) and FromUserName the
// push's ToUserName (the account); createTime is Unix seconds.

// AppendText appends a text reply. Newlines in content are shown to the
// user.
func AppendText(dst []byte, to, from string, createTime int64, content string) []byte {
	dst = appendReplyHead(dst, to, from, createTime, "text")
	dst = append(dst, "<Content>"...)
	dst = appendCDATA(dst, content)
	return append(dst, "</Content></xml>"...)
}

// AppendImage appends an image reply for a media_id uploaded beforehand
// through the material API.
func AppendImage(dst []byte, to, from string, createTime int64, mediaID string) []byte {
	dst = appendReplyHead(dst, to, from, createTime, "image")
	dst = append(dst, "<Image><MediaId>"...)
	dst = appendCDATA(dst, mediaID)
	return append(dst, "</MediaId></Image></xml>"...)
}

// Article is one item of a news reply.
type Article struct {
	Title, Description, PicURL, URL string
}

// AppendNews appends a news reply with every article given. WeChat shows at
// most one article in a reply to a user message (and per the later docs up
// to 8 in a reply to an event), so callers should pass exactly one; the
// builder does not truncate.
func AppendNews(dst []byte, to, from string, createTime int64, articles []Article) []byte {
	dst = appendReplyHead(dst, to, from, createTime, "news")
	dst = append(dst, "<ArticleCount>"...)
	dst = strconv.AppendInt(dst, int64(len(articles)), 10)
	dst = append(dst, "</ArticleCount><Articles>"...)
	for _, a := range articles {
		dst = append(dst, "<item><Title>"...)
		dst = appendCDATA(dst, a.Title)
		dst = append(dst, "</Title><Description>"...)
		dst = appendCDATA(dst, a.Description)
		dst = append(dst, "</Description><PicUrl>"...)
		dst = appendCDATA(dst, a.PicURL)
		dst = append(dst, "</PicUrl><Url>"...)
		dst = appendCDATA(dst, a.URL)
		dst = append(dst, "</Url></item>"...)
	}
	return append(dst, "</Articles></xml>"...)
}

// AppendEnvelope appends the encrypted-reply envelope of §4: Encrypt,
// MsgSignature and Nonce in CDATA, TimeStamp bare. msgSignature must be
// Sign(token, timestamp, nonce, encrypt) over these same values; Seal does
// all of it.
func AppendEnvelope(dst []byte, encrypt, msgSignature string, timestamp int64, nonce string) []byte {
	dst = append(dst, "<xml><Encrypt>"...)
	dst = appendCDATA(dst, encrypt)
	dst = append(dst, "</Encrypt><MsgSignature>"...)
	dst = appendCDATA(dst, msgSignature)
	return appendEnvelopeTail(dst, timestamp, nonce)
}

// appendEnvelopeTail appends what follows MsgSignature in an envelope.
func appendEnvelopeTail(dst []byte, timestamp int64, nonce string) []byte {
	dst = append(dst, "</MsgSignature><TimeStamp>"...)
	dst = strconv.AppendInt(dst, timestamp, 10)
	dst = append(dst, "</TimeStamp><Nonce>"...)
	dst = appendCDATA(dst, nonce)
	return append(dst, "</Nonce></xml>"...)
}

func appendReplyHead(dst []byte, to, from string, createTime int64, msgType string) []byte {
	dst = append(dst, "<xml><ToUserName>"...)
	dst = appendCDATA(dst, to)
	dst = append(dst, "</ToUserName><FromUserName>"...)
	dst = appendCDATA(dst, from)
	dst = append(dst, "</FromUserName><CreateTime>"...)
	dst = strconv.AppendInt(dst, createTime, 10)
	dst = append(dst, "</CreateTime><MsgType><![CDATA["...)
	dst = append(dst, msgType...)
	return append(dst, "]]></MsgType>"...)
}

// appendCDATA writes s as encoding/xml's ",cdata" does: nothing at all for
// an empty string, and a "]]>" inside s split across two sections as
// "]]]]><![CDATA[>", which decodes back to "]]>". Unlike encoding/xml, it
// replaces bytes that cannot appear in XML (invalid UTF-8, control
// characters other than tab, LF and CR, U+FFFE, U+FFFF) with U+FFFD, as
// xml.EscapeText does for text: WeChat answers a malformed reply with an
// error page to the user. A CR is kept; XML readers deliver it as LF.
func appendCDATA(dst []byte, s string) []byte {
	if s == "" {
		return dst
	}
	dst = append(dst, cdataOpen...)
	for {
		i := strings.Index(s, cdataClose)
		if i < 0 {
			break
		}
		dst = appendXMLChars(dst, s[:i])
		dst = append(dst, "]]]]><![CDATA[>"...)
		s = s[i+len(cdataClose):]
	}
	dst = appendXMLChars(dst, s)
	return append(dst, cdataClose...)
}

// appendXMLChars appends s, replacing what XML cannot carry with U+FFFD.
func appendXMLChars(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf || c == '\t' || c == '\n' || c == '\r' {
			i++
			continue
		}
		size := 1
		if c >= utf8.RuneSelf {
			var r rune
			r, size = utf8.DecodeRuneInString(s[i:])
			if !(r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF) {
				i += size
				continue
			}
		}
		dst = append(dst, s[start:i]...)
		dst = append(dst, "\uFFFD"...)
		i += size
		start = i
	}
	return append(dst, s[start:]...)
}
