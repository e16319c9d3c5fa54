// Package wechat implements the wire protocol of a WeChat Official Account's
// callback URL: request signatures, the AES message format, parsing of pushed
// messages and events, and building of passive replies. It uses only the
// standard library, never panics on input, and is written to parse, verify,
// decrypt and answer a push in a few microseconds with a handful of
// allocations.
//
// # Modes
//
// The account's console sets one of three message modes:
//
//   - Plaintext (the default): the POST body is the message XML.
//   - Compatible: the body carries the plaintext fields and an Encrypt
//     element; the query adds encrypt_type=aes and msg_signature. A reply may
//     be plain or sealed.
//   - Safe: the body holds only ToUserName and Encrypt; the reply must be
//     sealed (Cipher.Seal).
//
// The GET that checks the URL is the same in every mode: answer echostr
// verbatim when VerifySignature accepts the query.
//
// # Handling order
//
// For each POST, authenticate before trusting anything:
//
//  1. VerifySignature over the query's Token, timestamp and nonce (every
//     mode), and optionally CheckTimestamp.
//  2. ParseMessage on the body, which in the encrypted modes is the envelope.
//  3. VerifyMsgSignature over the Encrypt text exactly as received.
//  4. Cipher.Decrypt, which base64-decodes, decrypts, unpads and checks that
//     the message was sealed for this AppID.
//  5. ParseMessage on the decrypted inner XML. In compatible mode, trust only
//     this copy.
//
// Cipher.Open does steps 2 to 5. Every failure is a sentinel error (ErrSignature,
// ErrMsgSignature, ErrPadding, …) for errors.Is.
//
// # Rotation
//
// A Verifier holds the current Token and EncodingAESKey and, while they are
// being changed, the previous ones (§1): it does steps 1, 3 and 4 with either,
// says which served (Served), and seals the reply with the same (Verifier.Seal).
//
// # Third-party platform
//
// For a platform that accounts authorize (§13), Component calls the
// component API (tokens, pre-authorization codes, authorizer tokens and
// details), ParseComponentEvent reads the pushes to the authorization-event
// URL once a Verifier keyed with the component AppID has opened them, and
// PermissionsFor says which granted permission sets an authorizer call needs.
//
// Section numbers (§) in this package refer to the team's protocol
// reference, docs/wechat.md, whose §10 vectors the tests check.
//
// Package wechattest holds the other side: a Signer that builds requests
// exactly as WeChat sends them and opens sealed replies.
package wechat
