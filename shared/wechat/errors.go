package wechat

import "errors"

// Protocol failures. They are sentinels so that callers branch with errors.Is
// (and map them to HTTP statuses in one table) instead of matching strings.
// Functions may wrap them with detail; the detail never contains key material
// or decrypted bytes.
var (
	// ErrSignature: the query's signature does not match
	// SHA1(sort(Token, timestamp, nonce)).
	ErrSignature = errors.New("wechat: signature mismatch")
	// ErrMsgSignature: msg_signature (or an envelope's MsgSignature) does not
	// match SHA1(sort(Token, timestamp, nonce, Encrypt)). Kept distinct from
	// ErrSignature: it covers the body's Encrypt text rather than the query
	// alone, and logs should tell the two apart.
	ErrMsgSignature = errors.New("wechat: msg_signature mismatch")

	// ErrTimestampInvalid: the timestamp is not decimal Unix seconds.
	ErrTimestampInvalid = errors.New("wechat: timestamp is not decimal Unix seconds")
	// ErrTimestampOutOfWindow: the timestamp is further from now than the
	// tolerance allows. Returned wrapped with how far off it is.
	ErrTimestampOutOfWindow = errors.New("wechat: timestamp outside the allowed window")

	// ErrAESKey: the EncodingAESKey is not 43 letters or digits.
	ErrAESKey = errors.New("wechat: EncodingAESKey must be exactly 43 letters or digits")

	// ErrBase64: the Encrypt text is not standard, padded base64.
	ErrBase64 = errors.New("wechat: Encrypt is not valid base64")
	// ErrCiphertextLength: the decoded ciphertext is empty or not a multiple
	// of the AES block size.
	ErrCiphertextLength = errors.New("wechat: ciphertext length is not a non-zero multiple of 16")
	// ErrPadding: the PKCS#7 padding (block size 32) is out of range or
	// inconsistent. This is also what a wrong EncodingAESKey usually produces.
	ErrPadding = errors.New("wechat: invalid PKCS#7 padding")
	// ErrMessageLength: the plaintext is too short for its header, or its
	// length field points past the end.
	ErrMessageLength = errors.New("wechat: invalid message length")
	// ErrAppID: the decrypted message was sealed for another AppID. NewCipher
	// also returns it, wrapped, for an empty AppID.
	ErrAppID = errors.New("wechat: AppID mismatch")

	// ErrMalformed: the XML body could not be parsed as a WeChat message.
	ErrMalformed = errors.New("wechat: malformed XML message")
)
