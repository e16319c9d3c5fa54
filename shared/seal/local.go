package seal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"fmt"
)

// Local seals with AES-256-GCM under a key held in memory: for tests (`make test-unit` has no
// moto_server) and local runs with in-memory stores, not for a deployment, whose values KMS
// seals (a key in the function's configuration would be a secret to keep, rotate and audit,
// all of which KMS does).
//
// A blob is a version byte (1), GCM's 12-byte random nonce, and the ciphertext with its
// 16-byte tag. The additional data binds the version, the appid and the purpose, each of the
// latter two prefixed with its length (4 bytes, big-endian) so that no other appid and purpose
// give the same bytes. As with KMS, a blob opens only with its appid, its purpose and its key;
// any other is ErrSealed. A Local is safe for concurrent use.
type Local struct {
	aead cipher.AEAD
}

var _ Sealer = (*Local)(nil)

// localV1 is the version byte of Local's blobs.
const localV1 = 1

// NewLocal returns a Local sealing with key, which must be 32 bytes (AES-256).
func NewLocal(key []byte) (*Local, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("seal: NewLocal: the key is %d bytes, want 32", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: NewLocal: %w", err)
	}
	// The nonce is random, drawn by the AEAD for each Seal and put before the ciphertext.
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("seal: NewLocal: %w", err)
	}
	return &Local{aead: aead}, nil
}

// additionalData binds a blob to its version, appID and p.
func additionalData(version byte, appID string, p Purpose) []byte {
	ad := make([]byte, 0, 1+4+len(appID)+4+len(p))
	ad = append(ad, version)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(appID)))
	ad = append(ad, appID...)
	ad = binary.BigEndian.AppendUint32(ad, uint32(len(p)))
	ad = append(ad, p...)
	return ad
}

// Seal encrypts plaintext for appID's p. An empty appid, purpose or plaintext, or a plaintext
// over MaxPlaintext, is refused, as KMS refuses them.
func (l *Local) Seal(_ context.Context, appID string, p Purpose, plaintext []byte) ([]byte, error) {
	if err := checkSeal(appID, p, plaintext); err != nil {
		return nil, err
	}
	out := make([]byte, 1, 1+len(plaintext)+l.aead.Overhead())
	out[0] = localV1
	return l.aead.Seal(out, nil, plaintext, additionalData(localV1, appID, p)), nil
}

// Open decrypts a blob Seal returned for appID's p; one that does not open is ErrSealed.
func (l *Local) Open(_ context.Context, appID string, p Purpose, sealed []byte) ([]byte, error) {
	if err := checkBinding("opening", appID, p); err != nil {
		return nil, err
	}
	if len(sealed) < 1+l.aead.Overhead() || sealed[0] != localV1 {
		return nil, notOpen(appID, p, nil)
	}
	plaintext, err := l.aead.Open(nil, nil, sealed[1:], additionalData(localV1, appID, p))
	if err != nil {
		// GCM's error says only that authentication failed; ErrSealed says it all.
		return nil, notOpen(appID, p, nil)
	}
	return plaintext, nil
}
