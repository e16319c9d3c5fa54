// Package seal encrypts an official account's credentials for storage in DynamoDB: the
// AppSecret, and the Token and EncodingAESKey with their previous values. KMS seals them
// with the stack's KMS key, as deployed; Local seals them with AES-256-GCM under a key in
// memory, for tests and local runs.
//
// Every blob is bound to its account and its purpose by KMS's encryption context,
// {"appid": appID, "purpose": purpose}, which KMS authenticates with the ciphertext and
// requires again, exactly, to decrypt it. So a blob copied into another account's item, or
// opened as another purpose's value, is refused (ErrSealed), and IAM can tell the purposes
// apart: a condition on kms:EncryptionContext:purpose lets the callback's role decrypt
// only "callback" blobs, never the AppSecret. The context is not secret (CloudTrail records
// it with each request); it holds an appid and a purpose, nothing else.
//
// The values are encrypted by KMS directly (Encrypt and Decrypt, no data keys): each is far
// below KMS's 4,096-byte limit, which Seal checks before any request. One KMS key costs $1 a
// month and its requests $0.03 per 10,000 whatever the number of accounts, where one Secrets
// Manager secret per account would cost $0.40 a month each, $400 a month per 1,000 accounts.
//
// Errors name the appid and the purpose, never a plaintext, a blob or key material.
package seal

import (
	"context"
	"errors"
	"fmt"
)

// Purpose says which of an account's values a sealed blob holds; it is bound into the
// encryption context, so that IAM can let the callback open only Callback blobs.
type Purpose string

const (
	Callback  Purpose = "callback"   // Token, EncodingAESKey and previous ones: the callback's
	AppSecret Purpose = "app-secret" // the AppSecret: the functions that call WeChat's API
	// An authorizer's refresh token (docs/wechat.md §13.3): what its access
	// tokens are fetched with, for as long as the authorization stands. Its own
	// purpose so that the callback, which may open Callback blobs, never can.
	RefreshToken Purpose = "refresh-token"
)

// Sealer seals an account's value for one purpose and opens it again, given the same appid
// and purpose.
type Sealer interface {
	Seal(ctx context.Context, appID string, p Purpose, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, appID string, p Purpose, sealed []byte) ([]byte, error)
}

// MaxPlaintext is the most Seal takes, in bytes: KMS's limit for Encrypt. Local keeps to it
// too, so that what a test seals with Local the deployment can seal with KMS.
const MaxPlaintext = 4096

// ErrSealed means a blob does not open: it was tampered with or truncated, it belongs to
// another account or purpose, or another key sealed it. Open's error wraps it, naming the
// appid and the purpose.
var ErrSealed = errors.New("seal: the blob does not open (tampered, another account's or purpose's, or another key's)")

// checkBinding refuses an empty appid or purpose: a blob must be bound to both.
func checkBinding(op, appID string, p Purpose) error {
	if appID == "" {
		return fmt.Errorf("seal: %s: empty appid", op)
	}
	if p == "" {
		return fmt.Errorf("seal: %s for %q: empty purpose", op, appID)
	}
	return nil
}

// checkSeal refuses what cannot be sealed: no appid or purpose, an empty plaintext (which KMS
// refuses), one over MaxPlaintext.
func checkSeal(appID string, p Purpose, plaintext []byte) error {
	if err := checkBinding("sealing", appID, p); err != nil {
		return err
	}
	if len(plaintext) == 0 {
		return fmt.Errorf("seal: sealing %q's %s value: empty plaintext", appID, p)
	}
	if len(plaintext) > MaxPlaintext {
		return fmt.Errorf("seal: sealing %q's %s value: %d bytes, over KMS's limit of %d", appID, p, len(plaintext), MaxPlaintext)
	}
	return nil
}

// notOpen is Open's error for a blob that does not open; cause, when not nil, is the
// underlying error (KMS's exception), which holds no blob or plaintext either.
func notOpen(appID string, p Purpose, cause error) error {
	if cause == nil {
		return fmt.Errorf("seal: opening %q's %s value: %w", appID, p, ErrSealed)
	}
	return fmt.Errorf("seal: opening %q's %s value: %w: %w", appID, p, ErrSealed, cause)
}
