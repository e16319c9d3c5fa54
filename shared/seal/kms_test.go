package seal

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"

	"wechatqr/local/moto"
)

// counting counts the requests that reach api and keeps the last of each.
type counting struct {
	api                API
	encrypts, decrypts atomic.Int32
	lastEncrypt        atomic.Pointer[kms.EncryptInput]
	lastDecrypt        atomic.Pointer[kms.DecryptInput]
}

func (c *counting) Encrypt(ctx context.Context, in *kms.EncryptInput, optFns ...func(*kms.Options)) (*kms.EncryptOutput, error) {
	c.encrypts.Add(1)
	c.lastEncrypt.Store(in)
	return c.api.Encrypt(ctx, in, optFns...)
}

func (c *counting) Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	c.decrypts.Add(1)
	c.lastDecrypt.Store(in)
	return c.api.Decrypt(ctx, in, optFns...)
}

func (c *counting) calls() int32 { return c.encrypts.Load() + c.decrypts.Load() }

// failing is a KMS whose every request fails with err, as the SDK returns it: inside an
// OperationError.
type failing struct{ err error }

func (f failing) Encrypt(context.Context, *kms.EncryptInput, ...func(*kms.Options)) (*kms.EncryptOutput, error) {
	return nil, &smithy.OperationError{ServiceID: "KMS", OperationName: "Encrypt", Err: f.err}
}

func (f failing) Decrypt(context.Context, *kms.DecryptInput, ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	return nil, &smithy.OperationError{ServiceID: "KMS", OperationName: "Decrypt", Err: f.err}
}

// echo is a KMS whose Encrypt returns the plaintext as the blob and whose Decrypt returns the
// blob as the plaintext: for checking what KMS sends, not what KMS does.
type echo struct{}

func (echo) Encrypt(_ context.Context, in *kms.EncryptInput, _ ...func(*kms.Options)) (*kms.EncryptOutput, error) {
	return &kms.EncryptOutput{CiphertextBlob: in.Plaintext, KeyId: in.KeyId}, nil
}

func (echo) Decrypt(_ context.Context, in *kms.DecryptInput, _ ...func(*kms.Options)) (*kms.DecryptOutput, error) {
	return &kms.DecryptOutput{Plaintext: in.CiphertextBlob, KeyId: in.KeyId}, nil
}

func TestNewKMSRefusesNoClientOrNoKey(t *testing.T) {
	if k, err := NewKMS(nil, "alias/wechatqr"); err == nil {
		t.Errorf("NewKMS(nil, key) = %v, nil; want an error", k)
	}
	if k, err := NewKMS(echo{}, ""); err == nil {
		t.Errorf("NewKMS(client, \"\") = %v, nil; want an error", k)
	}
}

func TestKMSSendsTheKeyAndTheEncryptionContext(t *testing.T) {
	api := &counting{api: echo{}}
	k, err := NewKMS(api, "alias/wechatqr")
	if err != nil {
		t.Fatal(err)
	}
	blob, err := k.Seal(context.Background(), "wx1", AppSecret, secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k.Open(context.Background(), "wx1", AppSecret, blob); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"appid": "wx1", "purpose": "app-secret"}
	enc, dec := api.lastEncrypt.Load(), api.lastDecrypt.Load()
	if aws.ToString(enc.KeyId) != "alias/wechatqr" || !maps.Equal(enc.EncryptionContext, want) {
		t.Errorf("Encrypt's KeyId %q, EncryptionContext %v; want %q, %v", aws.ToString(enc.KeyId), enc.EncryptionContext, "alias/wechatqr", want)
	}
	// The key named on Decrypt is what refuses a blob another key sealed.
	if aws.ToString(dec.KeyId) != "alias/wechatqr" || !maps.Equal(dec.EncryptionContext, want) {
		t.Errorf("Decrypt's KeyId %q, EncryptionContext %v; want %q, %v", aws.ToString(dec.KeyId), dec.EncryptionContext, "alias/wechatqr", want)
	}
}

func TestKMSRefusesBeforeARequest(t *testing.T) {
	api := &counting{api: echo{}}
	k, err := NewKMS(api, "alias/wechatqr")
	if err != nil {
		t.Fatal(err)
	}
	runSealRefusals(t, k)
	if _, err := k.Open(context.Background(), "wx1", Callback, nil); !errors.Is(err, ErrSealed) {
		t.Errorf("Open of an empty blob: %v, want ErrSealed", err)
	}
	if n := api.calls(); n != 0 {
		t.Errorf("%d requests reached KMS; want none", n)
	}
}

func TestKMSErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		err    error
		sealed bool             // Open's error is ErrSealed
		class  func(error) bool // how a caller tells it from its error, through the wrapping
	}{
		{name: "InvalidCiphertextException is a blob that does not open", err: &types.InvalidCiphertextException{Message: aws.String("")}, sealed: true,
			class: func(err error) bool { var e *types.InvalidCiphertextException; return errors.As(err, &e) }},
		{name: "IncorrectKeyException is a blob another key sealed", err: &types.IncorrectKeyException{Message: aws.String("wrong key")}, sealed: true,
			class: func(err error) bool { var e *types.IncorrectKeyException; return errors.As(err, &e) }},
		{name: "throttling is not ErrSealed and is classified as throttling", err: &smithy.GenericAPIError{Code: "ThrottlingException", Message: "slow down"},
			class: func(err error) bool {
				return retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary
			}},
		{name: "an internal error is not ErrSealed and is a server fault", err: &types.KMSInternalException{Message: aws.String("oops")},
			class: func(err error) bool {
				var e smithy.APIError
				return errors.As(err, &e) && e.ErrorFault() == smithy.FaultServer
			}},
		{name: "AccessDeniedException (IAM's purpose condition) is not ErrSealed", err: &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "denied"},
			class: func(err error) bool {
				var e smithy.APIError
				return errors.As(err, &e) && e.ErrorCode() == "AccessDeniedException"
			}},
		{name: "a disabled key is not ErrSealed", err: &types.DisabledException{Message: aws.String("disabled")},
			class: func(err error) bool { var e *types.DisabledException; return errors.As(err, &e) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			k, err := NewKMS(failing{c.err}, "alias/wechatqr")
			if err != nil {
				t.Fatal(err)
			}
			got, err := k.Open(context.Background(), "wx1", Callback, []byte("blob"))
			if err == nil || got != nil {
				t.Fatalf("Open = %q, %v; want an error", got, err)
			}
			if errors.Is(err, ErrSealed) != c.sealed {
				t.Errorf("Open's error %q: ErrSealed is %v, want %v", err, errors.Is(err, ErrSealed), c.sealed)
			}
			if !c.class(err) {
				t.Errorf("Open's error %q does not classify as KMS's", err)
			}
			if _, err := k.Seal(context.Background(), "wx1", Callback, secret); err == nil || errors.Is(err, ErrSealed) || !c.class(err) {
				t.Errorf("Seal's error %q: want KMS's, wrapped, and not ErrSealed", err)
			} else {
				noSecretIn(t, err)
			}
		})
	}
}

// createKey creates a symmetric encryption key with client and returns its id.
func createKey(t *testing.T, client *kms.Client) string {
	t.Helper()
	out, err := client.CreateKey(context.Background(), &kms.CreateKeyInput{Description: aws.String("shared/seal test")})
	if err != nil {
		t.Fatalf("CreateKey: %v", err)
	}
	return aws.ToString(out.KeyMetadata.KeyId)
}

// TestKMSWithMoto runs the open table against moto_server's KMS. What moto does, read in its
// source (moto/kms/utils.py, models.py) and proved by the cases below:
//   - it enforces the encryption context: it is the additional data of moto's AES-GCM, so a
//     blob opened with another appid or purpose fails with InvalidCiphertextException, as on
//     KMS;
//   - a tampered or truncated body is InvalidCiphertextException too (a byte flipped in the
//     first 36, moto's key id, can give AccessDeniedException instead: the table flips the last);
//   - a blob another key sealed, opened with our KeyId, fails with AccessDeniedException where
//     KMS answers IncorrectKeyException: so here it is refused but not ErrSealed.
//     TestKMSErrors proves IncorrectKeyException is ErrSealed. The case still fails if Open did
//     not name the key: moto would then decrypt the blob with the key in it.
func TestKMSWithMoto(t *testing.T) {
	srv := moto.ForTest(t)
	client := srv.KMS()
	api := &counting{api: client}
	k, err := NewKMS(api, createKey(t, client))
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewKMS(client, createKey(t, client))
	if err != nil {
		t.Fatal(err)
	}
	motoOtherKey := refusal{"moto's AccessDeniedException (KMS's IncorrectKeyException)", func(err error) bool {
		var e smithy.APIError
		return errors.As(err, &e) && e.ErrorCode() == "AccessDeniedException"
	}}

	t.Run("open table", func(t *testing.T) {
		runOpenTable(t, k, openTable(t, k, other, motoOtherKey))
	})

	t.Run("the largest plaintext KMS takes round-trips", func(t *testing.T) {
		big := bytes.Repeat([]byte{'x'}, MaxPlaintext)
		blob, err := k.Seal(context.Background(), "wx1", AppSecret, big)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := k.Open(context.Background(), "wx1", AppSecret, blob); err != nil || !bytes.Equal(got, big) {
			t.Fatalf("Open = %d bytes, %v; want the %d bytes sealed", len(got), err, len(big))
		}
	})

	t.Run("a plaintext over 4096 bytes is refused without a request", func(t *testing.T) {
		before := api.calls()
		if _, err := k.Seal(context.Background(), "wx1", AppSecret, bytes.Repeat([]byte{'x'}, MaxPlaintext+1)); err == nil {
			t.Fatal("Seal took 4097 bytes")
		}
		if n := api.calls() - before; n != 0 {
			t.Errorf("%d requests reached KMS; want none", n)
		}
	})

	t.Run("an empty appid is refused without a request", func(t *testing.T) {
		before := api.calls()
		if _, err := k.Seal(context.Background(), "", Callback, secret); err == nil {
			t.Error("Seal took an empty appid")
		}
		if _, err := k.Open(context.Background(), "", Callback, []byte("blob")); err == nil {
			t.Error("Open took an empty appid")
		}
		if n := api.calls() - before; n != 0 {
			t.Errorf("%d requests reached KMS; want none", n)
		}
	})

	t.Run("the blob does not hold the plaintext", func(t *testing.T) {
		blob, err := k.Seal(context.Background(), "wx1", Callback, secret)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(blob, secret[:8]) {
			t.Error("the blob holds the plaintext")
		}
	})
}
