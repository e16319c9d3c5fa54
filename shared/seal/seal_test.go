package seal

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

// secret is the plaintext the tests seal: no error may hold it.
var secret = []byte("Token=tok-9f2c EncodingAESKey=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG")

// refusal checks the error of an Open that must fail, saying what it got otherwise.
type refusal struct {
	what string // what the error must be, for the failure message
	is   func(error) bool
}

// sealed is the refusal of a blob that does not open.
var sealed = refusal{"ErrSealed", func(err error) bool { return errors.Is(err, ErrSealed) }}

// openCase is one Open of a blob that s sealed for wx1's Callback value: the appid, purpose
// and blob it is opened with; want is nil when it must open to secret.
type openCase struct {
	name   string
	appID  string
	p      Purpose
	sealed []byte
	want   *refusal
}

// openTable is what every Sealer must do with its blobs: s seals, other is s under another
// key, and otherKey is how Open refuses other's blob (ErrSealed, but see moto in kms_test.go).
func openTable(t *testing.T, s, other Sealer, otherKey refusal) []openCase {
	t.Helper()
	ctx := context.Background()
	good, err := s.Seal(ctx, "wx1", Callback, secret)
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	fromOther, err := other.Seal(ctx, "wx1", Callback, secret)
	if err != nil {
		t.Fatalf("Seal under the other key: %v", err)
	}
	tampered := bytes.Clone(good)
	tampered[len(tampered)-1] ^= 0x01
	return []openCase{
		{name: "a blob opens with its appid and purpose", appID: "wx1", p: Callback, sealed: good},
		{name: "a blob opened as another appid's is refused", appID: "wx2", p: Callback, sealed: good, want: &sealed},
		{name: "a blob opened as another purpose's is refused", appID: "wx1", p: AppSecret, sealed: good, want: &sealed},
		{name: "a blob opened as a refresh token is refused", appID: "wx1", p: RefreshToken, sealed: good, want: &sealed},
		// "wx1"+"callback" and "wx1c"+"allback" are the same bytes put end to end.
		{name: "a blob opened with the appid and purpose split elsewhere is refused", appID: "wx1c", p: "allback", sealed: good, want: &sealed},
		{name: "a blob with its last byte flipped is refused", appID: "wx1", p: Callback, sealed: tampered, want: &sealed},
		{name: "a blob without its last byte is refused", appID: "wx1", p: Callback, sealed: good[:len(good)-1], want: &sealed},
		{name: "a blob cut to half is refused", appID: "wx1", p: Callback, sealed: good[:len(good)/2], want: &sealed},
		{name: "an empty blob is refused", appID: "wx1", p: Callback, sealed: nil, want: &sealed},
		{name: "a blob another key sealed is refused", appID: "wx1", p: Callback, sealed: fromOther, want: &otherKey},
	}
}

// runOpenTable opens each case's blob with s.
func runOpenTable(t *testing.T, s Sealer, cases []openCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.Open(context.Background(), c.appID, c.p, c.sealed)
			if c.want == nil {
				if err != nil || !bytes.Equal(got, secret) {
					t.Fatalf("Open = %q, %v; want the plaintext", got, err)
				}
				return
			}
			if err == nil || got != nil {
				t.Fatalf("Open = %q, %v; want no plaintext and %s", got, err, c.want.what)
			}
			if !c.want.is(err) {
				t.Fatalf("Open's error %q (%T) is not %s", err, err, c.want.what)
			}
			noSecretIn(t, err)
		})
	}
}

// noSecretIn fails t when err's text holds the plaintext or any of its words.
func noSecretIn(t *testing.T, err error) {
	t.Helper()
	for _, w := range strings.Fields(string(secret)) {
		if strings.Contains(err.Error(), w) {
			t.Errorf("the error %q holds the plaintext's %q", err, w)
		}
	}
}

// sealRefusal is a Seal or Open refused before any crypto: an empty appid or purpose, an
// empty or too long plaintext.
type sealRefusal struct {
	name      string
	open      bool // Open, else Seal
	appID     string
	p         Purpose
	plaintext []byte
}

var sealRefusals = []sealRefusal{
	{name: "Seal refuses an empty appid", appID: "", p: Callback, plaintext: secret},
	{name: "Seal refuses an empty purpose", appID: "wx1", p: "", plaintext: secret},
	{name: "Seal refuses an empty plaintext", appID: "wx1", p: Callback, plaintext: nil},
	{name: "Seal refuses a plaintext over 4096 bytes", appID: "wx1", p: Callback, plaintext: bytes.Repeat([]byte{'x'}, MaxPlaintext+1)},
	{name: "Open refuses an empty appid", open: true, appID: "", p: Callback, plaintext: []byte("blob")},
	{name: "Open refuses an empty purpose", open: true, appID: "wx1", p: "", plaintext: []byte("blob")},
}

// runSealRefusals checks s refuses each, with an error that is not ErrSealed (the caller's
// mistake, not a blob's) and holds no plaintext.
func runSealRefusals(t *testing.T, s Sealer) {
	t.Helper()
	for _, c := range sealRefusals {
		t.Run(c.name, func(t *testing.T) {
			var got []byte
			var err error
			if c.open {
				got, err = s.Open(context.Background(), c.appID, c.p, c.plaintext)
			} else {
				got, err = s.Seal(context.Background(), c.appID, c.p, c.plaintext)
			}
			if err == nil || got != nil {
				t.Fatalf("= %d bytes, %v; want an error", len(got), err)
			}
			if errors.Is(err, ErrSealed) {
				t.Errorf("the error %q is ErrSealed: it is the caller's, not a blob's", err)
			}
			noSecretIn(t, err)
		})
	}
}
