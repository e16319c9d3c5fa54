package wechat

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

const (
	// encodingAESKeyLen is the length of the console's EncodingAESKey: 43
	// base64 characters, which with one "=" decode to 32 bytes.
	encodingAESKeyLen = 43
	// padBlock is WeChat's PKCS#7 block size. It is 32, not AES's 16: every
	// peer pads to 32 and a 16-byte unpadder rejects pads of 17..32.
	padBlock = 32
	// A plaintext starts with random(16) ‖ uint32 big-endian len(msg).
	randomLen = 16
	headerLen = randomLen + 4
)

// Cipher is the AES message format of §4: AES-256-CBC, IV = the key's
// first 16 bytes, plaintext = random(16) ‖ len(msg) as uint32 big-endian ‖
// msg ‖ AppID, PKCS#7-padded to a multiple of 32, carried as standard base64.
// A Cipher is safe for concurrent use.
type Cipher struct {
	block cipher.Block
	iv    [aes.BlockSize]byte
	appID string
}

// NewCipher builds a Cipher from the console's EncodingAESKey and the
// account's AppID. The key must be exactly 43 characters of [A-Za-z0-9]
// (ErrAESKey otherwise; the error never repeats the key). The AppID must not
// be empty: it is what binds a message to this account.
func NewCipher(encodingAESKey, appID string) (*Cipher, error) {
	if len(encodingAESKey) != encodingAESKeyLen || !isAlnum(encodingAESKey) {
		return nil, ErrAESKey
	}
	if appID == "" {
		return nil, fmt.Errorf("%w: AppID is empty", ErrAppID)
	}
	// 43 alphanumerics plus "=" are always valid base64 of 32 bytes. The
	// non-strict decoder ignores the 2 unused low bits of the last character,
	// as WeChat and every peer do.
	key, err := base64.StdEncoding.DecodeString(encodingAESKey + "=")
	if err != nil || len(key) != 32 {
		return nil, ErrAESKey
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, ErrAESKey
	}
	c := &Cipher{block: block, appID: appID}
	copy(c.iv[:], key[:aes.BlockSize])
	return c, nil
}

func isAlnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// AppID returns the AppID the Cipher seals for and accepts.
func (c *Cipher) AppID() string { return c.appID }

// Encrypt seals msg with 16 random bytes from crypto/rand and returns the
// base64 text that goes in an Encrypt element.
func (c *Cipher) Encrypt(msg []byte) (string, error) {
	if uint64(len(msg)) > math.MaxUint32 {
		return "", ErrMessageLength
	}
	var random [randomLen]byte
	if _, err := rand.Read(random[:]); err != nil {
		return "", fmt.Errorf("wechat: reading random bytes: %w", err)
	}
	return c.EncryptWithRandom(random, msg), nil
}

// EncryptWithRandom is Encrypt with a caller-chosen random prefix. It is
// deterministic, for known-answer vectors and reproducible tests; production
// code uses Encrypt. msg must be shorter than 4 GiB (the length field is 32
// bits).
func (c *Cipher) EncryptWithRandom(random [16]byte, msg []byte) string {
	n := c.plainLen(len(msg))
	encLen := base64.StdEncoding.EncodedLen(n)
	buf := make([]byte, encLen+n)
	p := buf[encLen:]
	copy(p, random[:])
	copy(p[headerLen:], msg)
	c.frameAndEncrypt(p, len(msg))
	base64.StdEncoding.Encode(buf[:encLen], p)
	return string(buf[:encLen])
}

// plainLen is the padded plaintext length for a msg of msgLen bytes: the
// pad is 32 - n%32, so always 1..32 bytes.
func (c *Cipher) plainLen(msgLen int) int {
	n := headerLen + msgLen + len(c.appID)
	return n + padBlock - n%padBlock
}

// frameAndEncrypt completes a plaintext whose random prefix and msg are
// already in place in p (len(p) == c.plainLen(msgLen)): it writes the length
// field, the AppID and the padding, then encrypts p in place.
func (c *Cipher) frameAndEncrypt(p []byte, msgLen int) {
	binary.BigEndian.PutUint32(p[randomLen:headerLen], uint32(msgLen))
	n := headerLen + msgLen
	n += copy(p[n:], c.appID)
	pad := byte(len(p) - n)
	for i := n; i < len(p); i++ {
		p[i] = pad
	}
	c.cbcEncrypt(p)
}

// Decrypt opens the base64 text of an Encrypt element and returns the msg
// bytes. Each way to fail has its own sentinel, checked in this order:
// ErrBase64, ErrCiphertextLength, ErrPadding, ErrMessageLength, ErrAppID.
// On error it returns nil and wipes what it decrypted. Authenticate the text
// with VerifyMsgSignature first: CBC has no integrity of its own, and the
// distinct errors would otherwise be a padding oracle.
func (c *Cipher) Decrypt(encrypt string) ([]byte, error) {
	buf, err := decodeBase64(encrypt)
	if err != nil {
		return nil, err
	}
	return c.decrypt(buf)
}

// decryptBytes is Decrypt for base64 text still inside a request body.
func (c *Cipher) decryptBytes(encrypt []byte) ([]byte, error) {
	buf, err := decodeBase64Bytes(encrypt)
	if err != nil {
		return nil, err
	}
	return c.decrypt(buf)
}

// decrypt decrypts the ciphertext buf in place and returns the msg in it.
func (c *Cipher) decrypt(buf []byte) ([]byte, error) {
	if len(buf) == 0 || len(buf)%aes.BlockSize != 0 {
		return nil, ErrCiphertextLength
	}
	c.cbcDecrypt(buf)
	msg, err := c.unframe(buf)
	if err != nil {
		clear(buf)
		return nil, err
	}
	return msg, nil
}

// cbcEncrypt and cbcDecrypt are CBC over the Cipher's block, in place.
// cipher.NewCBCEncrypter would do the same but copies the whole AES key
// schedule into a new 512-byte object on every call; chaining by hand over
// the Block built once in NewCipher costs no allocation. The known-answer
// vectors of seven independent implementations pin the result.
func (c *Cipher) cbcEncrypt(p []byte) {
	prev := c.iv[:]
	for i := 0; i < len(p); i += aes.BlockSize {
		blk := p[i : i+aes.BlockSize]
		subtle.XORBytes(blk, blk, prev)
		c.block.Encrypt(blk, blk)
		prev = blk
	}
}

func (c *Cipher) cbcDecrypt(p []byte) {
	prev, cur := c.iv, [aes.BlockSize]byte{}
	for i := 0; i < len(p); i += aes.BlockSize {
		blk := p[i : i+aes.BlockSize]
		copy(cur[:], blk)
		c.block.Decrypt(blk, blk)
		subtle.XORBytes(blk, blk, prev[:])
		prev = cur
	}
}

// unframe checks the padding and the frame of a decrypted plaintext and
// returns the msg, aliasing p.
func (c *Cipher) unframe(p []byte) ([]byte, error) {
	pad := int(p[len(p)-1])
	if pad == 0 || pad > padBlock || pad > len(p) {
		return nil, ErrPadding
	}
	// Check every pad byte, without an early exit. Peers skip this, but it
	// is what turns a wrong key or a corrupted text into ErrPadding instead
	// of a frame that might happen to parse.
	var diff byte
	for _, b := range p[len(p)-pad:] {
		diff |= b ^ byte(pad)
	}
	if diff != 0 {
		return nil, ErrPadding
	}
	p = p[:len(p)-pad]
	if len(p) < headerLen {
		return nil, ErrMessageLength
	}
	msgLen := uint64(binary.BigEndian.Uint32(p[randomLen:headerLen]))
	if msgLen > uint64(len(p)-headerLen) {
		return nil, ErrMessageLength
	}
	end := headerLen + int(msgLen)
	if string(p[end:]) != c.appID {
		return nil, ErrAppID
	}
	return p[headerLen:end:end], nil
}

// decodeBase64 decodes standard, padded base64 with one allocation (the
// output). It is base64.StdEncoding, except that CR and LF are rejected
// rather than skipped: WeChat never sends them, and a signature covers the
// text as sent, so there is nothing to be lenient about. The string is fed
// to the decoder through a stack buffer, which avoids a []byte copy of it.
func decodeBase64(s string) ([]byte, error) {
	newline := strings.IndexByte(s, '\n') >= 0 || strings.IndexByte(s, '\r') >= 0
	if !base64Shape(len(s), newline, strings.IndexByte(s, '=')) {
		return nil, ErrBase64
	}
	out := make([]byte, len(s)/4*3)
	var chunk [512]byte // a multiple of 4, so chunks split on quantum boundaries
	n := 0
	for len(s) > 0 {
		k := copy(chunk[:], s)
		w, err := base64.StdEncoding.Decode(out[n:], chunk[:k])
		if err != nil {
			return nil, ErrBase64
		}
		n += w
		s = s[k:]
	}
	return out[:n], nil
}

// decodeBase64Bytes is decodeBase64 for a []byte.
func decodeBase64Bytes(b []byte) ([]byte, error) {
	newline := bytes.IndexByte(b, '\n') >= 0 || bytes.IndexByte(b, '\r') >= 0
	if !base64Shape(len(b), newline, bytes.IndexByte(b, '=')) {
		return nil, ErrBase64
	}
	out := make([]byte, len(b)/4*3)
	n, err := base64.StdEncoding.Decode(out, b)
	if err != nil {
		return nil, ErrBase64
	}
	return out[:n], nil
}

// base64Shape checks what base64.StdEncoding would not: no line breaks,
// and padding ("=", at index firstPad) only in the last two places. The
// latter matters because decodeBase64 decodes chunks separately and each
// would accept padding of its own.
func base64Shape(n int, newline bool, firstPad int) bool {
	return n%4 == 0 && !newline && (firstPad < 0 || firstPad >= n-2)
}
