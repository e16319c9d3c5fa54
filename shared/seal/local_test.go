package seal

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
)

func newLocal(t *testing.T, fill byte) *Local {
	t.Helper()
	l, err := NewLocal(bytes.Repeat([]byte{fill}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestLocalOpensOnlyItsOwnBlobs(t *testing.T) {
	l := newLocal(t, 'k')
	runOpenTable(t, l, openTable(t, l, newLocal(t, 'o'), sealed))
}

func TestLocalRefusesBeforeSealing(t *testing.T) {
	runSealRefusals(t, newLocal(t, 'k'))
}

func TestLocalRefusesEveryFlippedByte(t *testing.T) {
	l := newLocal(t, 'k')
	good, err := l.Seal(context.Background(), "wx1", AppSecret, secret)
	if err != nil {
		t.Fatal(err)
	}
	for i := range good {
		for _, bit := range []byte{0x01, 0x80} {
			bad := bytes.Clone(good)
			bad[i] ^= bit
			if got, err := l.Open(context.Background(), "wx1", AppSecret, bad); !errors.Is(err, ErrSealed) || got != nil {
				t.Errorf("byte %d ^ %#x: Open = %q, %v; want ErrSealed", i, bit, got, err)
			}
		}
	}
}

func TestLocalBlobIsVersionNonceCiphertext(t *testing.T) {
	l := newLocal(t, 'k')
	a, err := l.Seal(context.Background(), "wx1", Callback, secret)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Seal(context.Background(), "wx1", Callback, secret)
	if err != nil {
		t.Fatal(err)
	}
	if a[0] != 1 {
		t.Errorf("version byte = %d, want 1", a[0])
	}
	if want := 1 + 12 + len(secret) + 16; len(a) != want {
		t.Errorf("len = %d, want %d (version, nonce, ciphertext, tag)", len(a), want)
	}
	if bytes.Equal(a[1:13], b[1:13]) {
		t.Error("two seals drew the same nonce")
	}
	if bytes.Contains(a, secret[:8]) {
		t.Error("the blob holds the plaintext")
	}
}

func TestLocalSealsTheLargestPlaintextKMSTakes(t *testing.T) {
	l := newLocal(t, 'k')
	big := bytes.Repeat([]byte{'x'}, MaxPlaintext)
	blob, err := l.Seal(context.Background(), "wx1", AppSecret, big)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := l.Open(context.Background(), "wx1", AppSecret, blob); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("Open = %d bytes, %v; want the %d bytes sealed", len(got), err, len(big))
	}
}

func TestNewLocalRefusesAKeyNot32Bytes(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		key := bytes.Repeat([]byte{'K'}, n)
		l, err := NewLocal(key)
		if err == nil || l != nil {
			t.Errorf("%d bytes: NewLocal = %v, %v; want an error", n, l, err)
			continue
		}
		if n > 0 && strings.Contains(err.Error(), string(key[:min(n, 4)])) {
			t.Errorf("%d bytes: the error %q holds the key", n, err)
		}
	}
}

func TestLocalErrSealedNamesTheAppIDAndPurpose(t *testing.T) {
	l := newLocal(t, 'k')
	_, err := l.Open(context.Background(), "wx0123", AppSecret, []byte("not a blob at all, not at all"))
	if !errors.Is(err, ErrSealed) {
		t.Fatalf("Open's error = %v, want ErrSealed", err)
	}
	for _, w := range []string{"wx0123", "app-secret"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("the error %q does not name %q", err, w)
		}
	}
}

func TestLocalIsSafeForConcurrentUse(t *testing.T) {
	l := newLocal(t, 'k')
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				blob, err := l.Seal(context.Background(), "wx1", Callback, secret)
				if err != nil {
					t.Error(err)
					return
				}
				if got, err := l.Open(context.Background(), "wx1", Callback, blob); err != nil || !bytes.Equal(got, secret) {
					t.Errorf("Open = %q, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}
