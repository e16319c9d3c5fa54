package seal

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// API is what KMS needs of the SDK's *kms.Client.
type API interface {
	Encrypt(ctx context.Context, in *kms.EncryptInput, optFns ...func(*kms.Options)) (*kms.EncryptOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// KMS seals with a KMS key, as deployed: each value is one Encrypt request under the key, with
// the encryption context {"appid": appID, "purpose": purpose}, and each Open one Decrypt request
// with the same context and the key named, so that a blob another key sealed is refused.
//
// A blob that does not open (KMS's InvalidCiphertextException or IncorrectKeyException) is
// ErrSealed. Any other failure, AccessDeniedException included (the callback's role opening
// an AppSecret blob, which its IAM condition on the purpose refuses), is returned wrapped, so
// that callers can classify it with smithy-go's error types (smithy.APIError's ErrorCode and
// ErrorFault, retry.IsErrorThrottle...).
type KMS struct {
	client API
	keyID  string
}

var _ Sealer = (*KMS)(nil)

// NewKMS returns a KMS sealing with keyID (a key ID, key ARN, alias name or alias ARN) through
// client.
func NewKMS(client API, keyID string) (*KMS, error) {
	if client == nil {
		return nil, errors.New("seal: NewKMS: nil client")
	}
	if keyID == "" {
		return nil, errors.New("seal: NewKMS: empty key id")
	}
	return &KMS{client: client, keyID: keyID}, nil
}

// encryptionContext is the encryption context binding a blob to appID and p.
func encryptionContext(appID string, p Purpose) map[string]string {
	return map[string]string{"appid": appID, "purpose": string(p)}
}

// Seal encrypts plaintext for appID's p with one Encrypt request. An empty appid, purpose or
// plaintext, or a plaintext over MaxPlaintext, is refused without a request.
func (k *KMS) Seal(ctx context.Context, appID string, p Purpose, plaintext []byte) ([]byte, error) {
	if err := checkSeal(appID, p, plaintext); err != nil {
		return nil, err
	}
	out, err := k.client.Encrypt(ctx, &kms.EncryptInput{
		KeyId:             aws.String(k.keyID),
		Plaintext:         plaintext,
		EncryptionContext: encryptionContext(appID, p),
	})
	if err != nil {
		return nil, fmt.Errorf("seal: sealing %q's %s value with KMS: %w", appID, p, err)
	}
	if len(out.CiphertextBlob) == 0 {
		return nil, fmt.Errorf("seal: sealing %q's %s value with KMS: no ciphertext in the response", appID, p)
	}
	return out.CiphertextBlob, nil
}

// Open decrypts a blob Seal returned for appID's p with one Decrypt request. An empty appid or
// purpose is refused without a request, an empty blob is ErrSealed without one.
func (k *KMS) Open(ctx context.Context, appID string, p Purpose, sealed []byte) ([]byte, error) {
	if err := checkBinding("opening", appID, p); err != nil {
		return nil, err
	}
	if len(sealed) == 0 {
		return nil, notOpen(appID, p, nil)
	}
	out, err := k.client.Decrypt(ctx, &kms.DecryptInput{
		KeyId:             aws.String(k.keyID),
		CiphertextBlob:    sealed,
		EncryptionContext: encryptionContext(appID, p),
	})
	if err != nil {
		var invalid *types.InvalidCiphertextException
		var incorrect *types.IncorrectKeyException
		if errors.As(err, &invalid) || errors.As(err, &incorrect) {
			return nil, notOpen(appID, p, err)
		}
		return nil, fmt.Errorf("seal: opening %q's %s value with KMS: %w", appID, p, err)
	}
	return out.Plaintext, nil
}
