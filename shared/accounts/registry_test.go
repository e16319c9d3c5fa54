package accounts_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"wechatqr/shared/accounts"
	"wechatqr/shared/inmem"
	"wechatqr/shared/qr"
	"wechatqr/shared/seal"
)

const (
	defApp = "wx5823bf96d3bd56c7"
	app    = "wx1111111111111111"
	secret = "0123456789abcdef0123456789abcdef"
	tok    = "tokenB"
	aesKey = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
)

type fixture struct {
	reg    *accounts.Registry
	store  *inmem.Accounts
	checks []string // the AppIDs the checker was asked about
	refuse error    // what the checker answers
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{store: inmem.NewAccounts()}
	sealer, err := seal.NewLocal(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	f.reg, err = accounts.NewRegistry(accounts.Config{
		Default: accounts.Account{AppID: defApp, Name: "Brand"},
		Store:   f.store, Sealer: sealer,
		Checker: accounts.CheckerFunc(func(_ context.Context, appID, _ string) error {
			f.checks = append(f.checks, appID)
			return f.refuse
		}),
		Now: func() time.Time { return time.Date(2026, 12, 4, 1, 2, 3, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func valid() accounts.NewAccount {
	return accounts.NewAccount{AppID: app, Name: "Shop", AppSecret: secret, Token: tok, EncodingAESKey: aesKey, MessageMode: "safe"}
}

func (f *fixture) stored(t *testing.T) int {
	t.Helper()
	items, err := f.store.Accounts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(items)
}

func TestCreateRefusesBadInputAndStoresNothing(t *testing.T) {
	tests := []struct {
		name   string
		change func(*accounts.NewAccount)
		want   string // in the message
	}{
		{"an AppID without wx", func(n *accounts.NewAccount) { n.AppID = "ab1111111111111111" }, "not an AppID"},
		{"an AppID of 15 characters", func(n *accounts.NewAccount) { n.AppID = "wx111111111111111" }, "not an AppID"},
		{"an AppID of 17 characters", func(n *accounts.NewAccount) { n.AppID = "wx11111111111111111" }, "not an AppID"},
		{"an AppID with a symbol", func(n *accounts.NewAccount) { n.AppID = "wx11111111111111/1" }, "not an AppID"},
		{"no name", func(n *accounts.NewAccount) { n.Name = " " }, "name is required"},
		{"a name of 65 characters", func(n *accounts.NewAccount) { n.Name = strings.Repeat("名", 65) }, "at most 64"},
		{"a name with a control character", func(n *accounts.NewAccount) { n.Name = "a\x07b" }, "control character"},
		{"an AppSecret too short", func(n *accounts.NewAccount) { n.AppSecret = "abc" }, "app_secret"},
		{"a Token of 2 characters", func(n *accounts.NewAccount) { n.Token = "ab" }, "token must be"},
		{"a Token with a symbol", func(n *accounts.NewAccount) { n.Token = "tok-en" }, "token must be"},
		{"a key of 42 characters", func(n *accounts.NewAccount) { n.EncodingAESKey = aesKey[:42] }, "encoding_aes_key must be"},
		{"an unknown message mode", func(n *accounts.NewAccount) { n.MessageMode = "secure" }, "message_mode"},
		{"safe mode without a key", func(n *accounts.NewAccount) { n.EncodingAESKey = "" }, "needs encoding_aes_key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			n := valid()
			tt.change(&n)
			_, err := f.reg.Create(context.Background(), n)
			if qr.ErrorCode(err) != qr.EInvalid || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Create = %v, want invalid saying %q", err, tt.want)
			}
			for _, s := range []string{n.AppSecret, n.EncodingAESKey} {
				if s != "" && strings.Contains(err.Error(), s) {
					t.Errorf("the error quotes a credential: %v", err)
				}
			}
			if f.stored(t) != 0 || len(f.checks) != 0 {
				t.Errorf("a refused account was stored (%d) or checked with WeChat (%v)", f.stored(t), f.checks)
			}
		})
	}
}

func TestCreateChecksWithWeChatBeforeStoring(t *testing.T) {
	f := newFixture(t)
	f.refuse = errors.New("wechat: errcode 40125: invalid appsecret")
	if _, err := f.reg.Create(context.Background(), valid()); err == nil || !strings.Contains(err.Error(), "40125") {
		t.Fatalf("Create with a refused AppSecret = %v, want WeChat's refusal", err)
	}
	if f.stored(t) != 0 {
		t.Fatal("an account WeChat refused was stored")
	}
	f.refuse = nil
	a, err := f.reg.Create(context.Background(), valid())
	if err != nil {
		t.Fatal(err)
	}
	want := accounts.Account{AppID: app, Name: "Shop", Kind: accounts.Direct, Status: accounts.Active, MessageMode: "safe", CreatedAt: time.Date(2026, 12, 4, 1, 2, 3, 0, time.UTC)}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("Create = %+v, want %+v", a, want)
	}
}

func TestAnAccountIsAddedOnce(t *testing.T) {
	f := newFixture(t)
	if _, err := f.reg.Create(context.Background(), valid()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.Create(context.Background(), valid()); qr.ErrorCode(err) != qr.EConflict {
		t.Errorf("a second Create = %v, want conflict", err)
	}
	n := valid()
	n.AppID = defApp
	if _, err := f.reg.Create(context.Background(), n); qr.ErrorCode(err) != qr.EConflict {
		t.Errorf("Create of the default account = %v, want conflict", err)
	}
}

func TestCredentialsAreSealedAndOpenedByPurpose(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.reg.Create(ctx, valid()); err != nil {
		t.Fatal(err)
	}
	it, err := f.store.Account(ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	for _, blob := range [][]byte{it.SealedCallback, it.SealedAppSecret} {
		for _, s := range []string{secret, tok, aesKey} {
			if bytes.Contains(blob, []byte(s)) {
				t.Errorf("a sealed blob holds a credential in the clear")
			}
		}
	}
	_, keys, version, err := f.reg.Callback(ctx, app, 0)
	if err != nil || keys == nil || *keys != (accounts.CallbackKeys{Token: tok, EncodingAESKey: aesKey}) {
		t.Errorf("Callback = %+v, %v", keys, err)
	}
	if _, again, _, err := f.reg.Callback(ctx, app, version); err != nil || again != nil {
		t.Errorf("Callback of an unchanged account opened its keys again: %+v, %v", again, err)
	}
	if got, err := f.reg.AppSecret(ctx, app); err != nil || got != secret {
		t.Errorf("AppSecret = %v (matches: %v)", err, got == secret)
	}
	// A blob moved to the other purpose's attribute does not open.
	it.SealedAppSecret, it.SealedCallback = it.SealedCallback, it.SealedAppSecret
	if err := f.store.UpdateAccount(ctx, it, it.Version); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.AppSecret(ctx, app); !errors.Is(err, seal.ErrSealed) {
		t.Errorf("the callback's blob opened as the AppSecret: %v", err)
	}
}

func TestUpdateRotatesAsTheDefaultAccountDoes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.reg.Create(ctx, valid()); err != nil {
		t.Fatal(err)
	}
	ptr := func(s string) *string { return &s }
	const newKey = "ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut"
	steps := []struct {
		name  string
		patch accounts.Patch
		want  accounts.CallbackKeys
	}{
		{"a new Token keeps the one before", accounts.Patch{Token: ptr("tokenC")}, accounts.CallbackKeys{Token: "tokenC", PreviousToken: tok, EncodingAESKey: aesKey}},
		{"a new key keeps the one before", accounts.Patch{EncodingAESKey: ptr(newKey)}, accounts.CallbackKeys{Token: "tokenC", PreviousToken: tok, EncodingAESKey: newKey, PreviousEncodingAESKey: aesKey}},
		{"the same Token again ends its rotation", accounts.Patch{Token: ptr("tokenC")}, accounts.CallbackKeys{Token: "tokenC", EncodingAESKey: newKey, PreviousEncodingAESKey: aesKey}},
		{"a name changes no key", accounts.Patch{Name: ptr("Shop 2")}, accounts.CallbackKeys{Token: "tokenC", EncodingAESKey: newKey, PreviousEncodingAESKey: aesKey}},
	}
	for _, s := range steps {
		if _, err := f.reg.Update(ctx, app, s.patch); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if _, keys, _, err := f.reg.Callback(ctx, app, 0); err != nil || keys == nil || *keys != s.want {
			t.Errorf("%s: keys %+v, %v; want %+v", s.name, keys, err, s.want)
		}
	}
	if a, _ := f.reg.Get(ctx, app); a.Name != "Shop 2" {
		t.Errorf("name = %q", a.Name)
	}
	f.refuse = errors.New("wechat: errcode 40125: invalid appsecret")
	if _, err := f.reg.Update(ctx, app, accounts.Patch{AppSecret: ptr("fedcba9876543210fedcba9876543210")}); err == nil {
		t.Fatal("an AppSecret WeChat refused was accepted")
	}
	if got, _ := f.reg.AppSecret(ctx, app); got != secret {
		t.Error("a refused AppSecret replaced the stored one")
	}
	if _, err := f.reg.Update(ctx, app, accounts.Patch{Token: ptr("x")}); qr.ErrorCode(err) != qr.EInvalid {
		t.Errorf("a malformed Token = %v, want invalid", err)
	}
}

func TestTheDefaultAccountIsTheStacks(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	name := "x"
	if _, err := f.reg.Update(ctx, defApp, accounts.Patch{Name: &name}); qr.ErrorCode(err) != qr.EConflict {
		t.Errorf("Update of the default account = %v, want conflict", err)
	}
	if err := f.reg.Delete(ctx, defApp); qr.ErrorCode(err) != qr.EConflict {
		t.Errorf("Delete of the default account = %v, want conflict", err)
	}
	if _, err := f.reg.Create(ctx, valid()); err != nil {
		t.Fatal(err)
	}
	list, err := f.reg.List(ctx)
	if err != nil || len(list) != 2 || !list[0].Default || list[0].AppID != defApp || list[0].Name != "Brand" || list[1].AppID != app {
		t.Errorf("List = %+v, %v; want the default account first", list, err)
	}
	if err := f.reg.Delete(ctx, app); err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.Get(ctx, app); qr.ErrorCode(err) != qr.EAccountNotFound {
		t.Errorf("Get after Delete = %v, want account_not_found", err)
	}
	if err := f.reg.Delete(ctx, app); qr.ErrorCode(err) != qr.EAccountNotFound {
		t.Errorf("a second Delete = %v, want account_not_found", err)
	}
	if _, err := f.reg.Get(ctx, "wx"); qr.ErrorCode(err) != qr.EInvalid {
		t.Errorf("Get of a malformed AppID = %v, want invalid", err)
	}
}
