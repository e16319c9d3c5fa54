package wechat

import (
	"bytes"
	"encoding/binary"
	"encoding/xml"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Message is one push from WeChat: an event, a user message, or (in safe
// mode) the envelope holding the encrypted one. Fields of other message
// types (Latitude, PicUrl, MediaId, …) are not kept.
//
// The xml tags are the element names on the wire; ParseMessage's result is
// always the result of encoding/xml decoding into this struct under a root
// element named "xml". So an absent element and an empty one both give "",
// a repeated element keeps its last value, and CreateTime follows
// encoding/xml's int64 rules: empty or absent is 0, surrounding whitespace is
// trimmed, an optional sign is accepted, and anything else fails.
type Message struct {
	ToUserName   string `xml:"ToUserName"` // the account's original ID, gh_…
	FromUserName string `xml:"FromUserName"`
	CreateTime   int64  `xml:"CreateTime"` // Unix seconds
	MsgType      string `xml:"MsgType"`    // lowercase: event, text, …
	Event        string `xml:"Event"`      // subscribe, unsubscribe, SCAN, … (case matters)
	EventKey     string `xml:"EventKey"`
	Ticket       string `xml:"Ticket"`
	Content      string `xml:"Content"`
	MsgID        string `xml:"MsgId"` // the 64-bit id, kept as its decimal text
	Encrypt      string `xml:"Encrypt"`
}

// xmlMessage is Message under its root element, for encoding/xml.
type xmlMessage struct {
	XMLName xml.Name `xml:"xml"`
	Message
}

// ParseMessage parses a push body (or a decrypted inner message).
//
// The common shape, a flat <xml> whose children hold one CDATA section or
// plain text, is read by a scanner that allocates one string for all the
// fields. Anything else it is not sure about (entities, comments, processing
// instructions, an <?xml?> header, attributes, nested elements, a CR, …) is
// handed to encoding/xml, so the result is always exactly what encoding/xml
// gives: the scanner is only a shortcut to the same answer. Errors wrap
// ErrMalformed. As with encoding/xml, bytes after the closing </xml> are not
// read.
//
// The returned strings may share one allocation holding the body's fields,
// so keeping any of them keeps that (body-sized) string alive.
func ParseMessage(body []byte) (Message, error) {
	if m, ok := parseFast(body); ok {
		return m, nil
	}
	var x xmlMessage
	if err := xml.Unmarshal(body, &x); err != nil {
		return Message{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return x.Message, nil
}

// Scene returns the scene value of a scan of a QR code with parameters: the
// EventKey after "qrscene_" for a subscribe through a code, and the EventKey
// as is for SCAN (a scan by a user who already follows). ok is false for
// every other message, for a plain subscribe, and for an empty scene.
// Event names are compared exactly, as WeChat sends them.
func (m *Message) Scene() (scene string, ok bool) {
	if m.MsgType != "event" {
		return "", false
	}
	switch m.Event {
	case "subscribe":
		if s, found := strings.CutPrefix(m.EventKey, "qrscene_"); found && s != "" {
			return s, true
		}
	case "SCAN":
		if m.EventKey != "" {
			return m.EventKey, true
		}
	}
	return "", false
}

// DedupeKey identifies a push across WeChat's retries (a retry repeats the
// message, though not necessarily the query or, in safe mode, the
// ciphertext). Messages that carry a MsgId use it: "msg:<MsgId>". Everything else (events carry no MsgId) uses
// "event:<FromUserName>|<CreateTime>|<Event>|<EventKey>", which goes beyond
// the docs' FromUserName+CreateTime so that two different events from one
// user in the same second stay apart.
func (m *Message) DedupeKey() string {
	if m.MsgID != "" {
		return "msg:" + m.MsgID
	}
	var ts [20]byte
	return "event:" + m.FromUserName + "|" + string(strconv.AppendInt(ts[:0], m.CreateTime, 10)) +
		"|" + m.Event + "|" + m.EventKey
}

// The fast path.

// Message fields the scanner keeps, by index; CreateTime is parsed on the
// spot and is not in this list.
const (
	fToUserName = iota
	fFromUserName
	fMsgType
	fEvent
	fEventKey
	fTicket
	fContent
	fMsgID
	fEncrypt
	numStringFields

	fCreateTime = -2
	fUnknown    = -1
)

func fieldIndex(name []byte) int {
	switch string(name) { // no allocation: the compiler compares in place
	case "ToUserName":
		return fToUserName
	case "FromUserName":
		return fFromUserName
	case "CreateTime":
		return fCreateTime
	case "MsgType":
		return fMsgType
	case "Event":
		return fEvent
	case "EventKey":
		return fEventKey
	case "Ticket":
		return fTicket
	case "Content":
		return fContent
	case "MsgId":
		return fMsgID
	case "Encrypt":
		return fEncrypt
	}
	return fUnknown
}

// span locates a field's value in the body: b[lo:hi] is the value itself,
// or, when joined, the raw content made of several CDATA and text segments
// that must be concatenated.
type span struct {
	lo, hi int
	joined bool
}

const (
	cdataOpen  = "<![CDATA["
	cdataClose = "]]>"
)

// parseFast accepts exactly this grammar and reports ok=false for anything
// else, leaving the answer to encoding/xml:
//
//	body    = ws "<xml>" { ws | element } "</xml>" (anything)
//	element = "<" name ">" { cdata | text } "</" name ">"
//	name    = [A-Za-z_] [A-Za-z0-9_.-]*
//	cdata   = "<![CDATA[" chars "]]>"        (chars: no "]]>")
//	text    = chars without "<", "&", "]]>"
//	ws      = " " | "\t" | "\r" | "\n"
//
// where chars are valid UTF-8 XML characters other than CR (encoding/xml
// rewrites CR, so the scanner would have to copy). Unknown elements are
// checked the same way and skipped. CreateTime must be empty or one segment
// of an optional sign and 1 to 18 digits. Within this grammar encoding/xml
// yields the same Message; FuzzParseMessage checks that.
func parseFast(b []byte) (Message, bool) {
	spans, createTime, ok := scanMessage(b)
	if !ok {
		return Message{}, false
	}
	return buildMessage(b, &spans, createTime), true
}

// fields holds where scanMessage found each string field.
type fields [numStringFields]span

// scanMessage runs the fast grammar over b and records each known field's
// span without allocating.
func scanMessage(b []byte) (spans fields, createTime int64, ok bool) {
	i := skipSpace(b, 0)
	if !hasAt(b, i, "<xml>") {
		return spans, 0, false
	}
	i += len("<xml>")
	for {
		i = skipSpace(b, i)
		if i+1 >= len(b) || b[i] != '<' {
			return spans, 0, false
		}
		if b[i+1] == '/' {
			if !hasAt(b, i, "</xml>") {
				return spans, 0, false
			}
			break
		}
		nameEnd := scanName(b, i+1)
		if nameEnd == i+1 || nameEnd >= len(b) || b[nameEnd] != '>' {
			return spans, 0, false
		}
		name := b[i+1 : nameEnd]
		lo, hi, joined, end, ok := scanContent(b, nameEnd+1)
		if !ok {
			return spans, 0, false
		}
		// b[end:] starts with "</"; it must close this element exactly.
		closeEnd := end + 2 + len(name)
		if closeEnd >= len(b) || !bytes.Equal(b[end+2:closeEnd], name) || b[closeEnd] != '>' {
			return spans, 0, false
		}
		i = closeEnd + 1

		switch f := fieldIndex(name); f {
		case fUnknown:
		case fCreateTime:
			if joined {
				return spans, 0, false
			}
			v, ok := parseCreateTime(b[lo:hi])
			if !ok {
				return spans, 0, false
			}
			createTime = v
		default:
			spans[f] = span{lo, hi, joined}
		}
	}
	return spans, createTime, true
}

// buildMessage makes the Message for the spans scanMessage found.
func buildMessage(b []byte, spans *fields, createTime int64) Message {
	// One string for every single-segment value: from the first such value
	// to the last.
	lo, hi := len(b), 0
	for _, s := range spans {
		if !s.joined && s.hi > s.lo {
			lo, hi = min(lo, s.lo), max(hi, s.hi)
		}
	}
	var all string
	if lo < hi {
		all = string(b[lo:hi])
	}
	var v [numStringFields]string
	for f, s := range spans {
		switch {
		case s.joined:
			v[f] = joinContent(b[s.lo:s.hi])
		case s.hi > s.lo:
			v[f] = all[s.lo-lo : s.hi-lo]
		}
	}
	return Message{
		ToUserName:   v[fToUserName],
		FromUserName: v[fFromUserName],
		CreateTime:   createTime,
		MsgType:      v[fMsgType],
		Event:        v[fEvent],
		EventKey:     v[fEventKey],
		Ticket:       v[fTicket],
		Content:      v[fContent],
		MsgID:        v[fMsgID],
		Encrypt:      v[fEncrypt],
	}
}

// scanContent reads an element's content from b[i:] up to its end tag. It
// returns the value span (see span), the index of the "</" that ends the
// content, and ok=false for anything outside the fast grammar.
func scanContent(b []byte, i int) (lo, hi int, joined bool, end int, ok bool) {
	start, segments := i, 0
	lo, hi = i, i
	for {
		if i >= len(b) {
			return 0, 0, false, 0, false
		}
		if b[i] == '<' {
			if i+1 < len(b) && b[i+1] == '/' {
				break
			}
			if !hasAt(b, i, cdataOpen) {
				return 0, 0, false, 0, false // a child element, a comment, a PI…
			}
			s := i + len(cdataOpen)
			k := bytes.Index(b[s:], []byte(cdataClose))
			if k < 0 || !validChars(b[s:s+k], false) {
				return 0, 0, false, 0, false
			}
			lo, hi = s, s+k
			segments++
			i = s + k + len(cdataClose)
			continue
		}
		k := bytes.IndexByte(b[i:], '<')
		if k < 0 || !validChars(b[i:i+k], true) {
			return 0, 0, false, 0, false
		}
		lo, hi = i, i+k
		segments++
		i += k
	}
	if segments > 1 {
		return start, i, true, i, true
	}
	if segments == 0 {
		lo, hi = i, i
	}
	return lo, hi, false, i, true
}

// validChars reports whether p can be taken verbatim as character data:
// valid UTF-8, only characters XML allows, and no CR (which encoding/xml
// rewrites to LF). In plain text (text=true) it also rejects "&", which
// starts an entity, and "]]>", which encoding/xml rejects outside CDATA.
func validChars(p []byte, text bool) bool {
	if text && (bytes.IndexByte(p, '&') >= 0 || bytes.Contains(p, []byte(cdataClose))) {
		return false
	}
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	for i := 0; i < len(p); {
		// Eight bytes at a time while they are all printable ASCII: no high
		// bit set, and no byte below 0x20 (the borrow trick from Bit
		// Twiddling Hacks' "hasless").
		if len(p)-i >= 8 {
			w := binary.LittleEndian.Uint64(p[i:])
			if w&highs == 0 && (w-0x20*ones)&^w&highs == 0 {
				i += 8
				continue
			}
		}
		c := p[i]
		if c >= 0x20 && c < utf8.RuneSelf || c == '\t' || c == '\n' {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			return false // control characters and CR
		}
		r, size := utf8.DecodeRune(p[i:])
		if r == utf8.RuneError && size == 1 || r == 0xFFFE || r == 0xFFFF {
			return false
		}
		i += size
	}
	return true
}

// joinContent concatenates the segments of content that scanContent has
// already validated.
func joinContent(raw []byte) string {
	out := make([]byte, 0, len(raw))
	for len(raw) > 0 {
		if hasAt(raw, 0, cdataOpen) {
			raw = raw[len(cdataOpen):]
			k := bytes.Index(raw, []byte(cdataClose))
			out = append(out, raw[:k]...)
			raw = raw[k+len(cdataClose):]
			continue
		}
		k := bytes.IndexByte(raw, '<')
		if k < 0 {
			k = len(raw)
		}
		out = append(out, raw[:k]...)
		raw = raw[k:]
	}
	return string(out)
}

// parseCreateTime mirrors encoding/xml's int64 rule on the inputs the fast
// path accepts: empty is 0; otherwise an optional sign and 1 to 18 digits
// (which cannot overflow). Anything else goes to encoding/xml.
func parseCreateTime(p []byte) (int64, bool) {
	if len(p) == 0 {
		return 0, true
	}
	neg := false
	if p[0] == '+' || p[0] == '-' {
		neg = p[0] == '-'
		p = p[1:]
	}
	if len(p) == 0 || len(p) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// scanName returns the end of the element name starting at b[i], or i if
// there is none. Names are restricted to ASCII without ":" (no namespaces).
func scanName(b []byte, i int) int {
	if i >= len(b) || !(isLetter(b[i]) || b[i] == '_') {
		return i
	}
	for i++; i < len(b); i++ {
		c := b[i]
		if !(isLetter(c) || '0' <= c && c <= '9' || c == '_' || c == '.' || c == '-') {
			break
		}
	}
	return i
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

func hasAt(b []byte, i int, s string) bool {
	return len(b)-i >= len(s) && string(b[i:i+len(s)]) == s
}
