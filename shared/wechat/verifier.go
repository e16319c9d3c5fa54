package wechat

import (
	"errors"
	"fmt"
)

// Generation names one of the two values a rotation keeps: the current one and
// the one before it.
type Generation uint8

const (
	// Current is the value the account's console holds now.
	Current Generation = iota
	// Previous is the value before the last change, still accepted so that no
	// push is refused while instances and the console change over.
	Previous
)

func (g Generation) String() string {
	if g == Previous {
		return "previous"
	}
	return "current"
}

// Served says which Token verified a request and which EncodingAESKey opened
// it. A reply is signed with that Token and sealed with that key, so that it
// opens with the values the request came with.
type Served struct {
	Token  Generation
	AESKey Generation
}

// Keys are the callback's secrets: the Token and, for compatible and safe mode,
// the cipher of the EncodingAESKey, each with its previous value during a
// rotation.
type Keys struct {
	Token string
	// Cipher is nil when no EncodingAESKey is configured (plaintext mode only).
	Cipher *Cipher
	// PreviousToken is "" outside a rotation of the Token.
	PreviousToken string
	// PreviousCipher is nil outside a rotation of the EncodingAESKey.
	PreviousCipher *Cipher
}

// Verifier checks requests against the current Token and EncodingAESKey and,
// during a rotation, the previous ones (§1: keep the previous key and try it
// when the current one fails). Every comparison is constant-time, and a
// message opened with either key must pass every check of Cipher.Decrypt,
// the AppID included. A Verifier is immutable and safe for concurrent use.
type Verifier struct {
	tokens  [2]string
	ciphers [2]*Cipher
}

// NewVerifier returns a Verifier over k. The Token is required; the ciphers,
// when both are given, must be for the same AppID.
func NewVerifier(k Keys) (*Verifier, error) {
	if k.Token == "" {
		return nil, errors.New("wechat: the Token is required")
	}
	if k.Cipher != nil && k.PreviousCipher != nil && k.Cipher.AppID() != k.PreviousCipher.AppID() {
		return nil, fmt.Errorf("%w: the current and previous EncodingAESKey are set up for different AppIDs", ErrAppID)
	}
	return &Verifier{
		tokens:  [2]string{k.Token, k.PreviousToken},
		ciphers: [2]*Cipher{k.Cipher, k.PreviousCipher},
	}, nil
}

// CanDecrypt reports whether an EncodingAESKey (current or previous) is
// configured, without which encrypted pushes cannot be opened.
func (v *Verifier) CanDecrypt() bool { return v.ciphers[Current] != nil || v.ciphers[Previous] != nil }

// VerifySignature checks the query's signature (the GET check and every POST)
// under the current Token and, if that fails, the previous one. It returns
// which Token holds, or ErrSignature.
func (v *Verifier) VerifySignature(timestamp, nonce, signature string) (Served, error) {
	for _, g := range [...]Generation{Current, Previous} {
		tok := v.tokens[g]
		if tok == "" {
			continue
		}
		if VerifySignature(tok, timestamp, nonce, signature) == nil {
			return Served{Token: g}, nil
		}
	}
	return Served{}, ErrSignature
}

// Decrypt checks msg_signature over the Encrypt text as received, under the
// Token that verified the query (s.Token, from VerifySignature: WeChat signs
// both with the same Token), then decrypts it with the current key and, only
// if that fails, with the previous one. A wrong key usually surfaces as
// ErrPadding, and its output is never trusted: the previous key must pass
// every check (padding, length, AppID) on its own. When neither key opens the
// text, the current key's error is returned, as without a rotation.
func (v *Verifier) Decrypt(s Served, timestamp, nonce, msgSignature, encrypt string) ([]byte, Served, error) {
	if tok := v.tokens[s.Token]; tok == "" || VerifyMsgSignature(tok, timestamp, nonce, encrypt, msgSignature) != nil {
		return nil, s, ErrMsgSignature
	}
	var first error
	for _, g := range [...]Generation{Current, Previous} {
		c := v.ciphers[g]
		if c == nil {
			continue
		}
		msg, err := c.Decrypt(encrypt) // decodes afresh: a failed attempt wipes its buffer
		if err == nil {
			s.AESKey = g
			return msg, s, nil
		}
		if first == nil {
			first = err
		}
		if errors.Is(err, ErrBase64) || errors.Is(err, ErrCiphertextLength) {
			break // the text itself is bad: no key can open it
		}
	}
	if first == nil {
		first = fmt.Errorf("%w: no EncodingAESKey is configured", ErrAESKey)
	}
	return nil, s, first
}

// Seal is Cipher.Seal with the key and Token that served the request: a reply
// to a push opened with the previous key is sealed with it and signed with the
// Token that verified the push.
func (v *Verifier) Seal(dst []byte, s Served, reply []byte, timestamp int64, nonce string) ([]byte, error) {
	c := v.ciphers[s.AESKey]
	if c == nil {
		return dst, fmt.Errorf("%w: no %s EncodingAESKey to seal with", ErrAESKey, s.AESKey)
	}
	return c.Seal(dst, v.tokens[s.Token], reply, timestamp, nonce)
}
