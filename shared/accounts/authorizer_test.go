package accounts_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"wechatqr/shared/accounts"
	"wechatqr/shared/qr"
	"wechatqr/shared/seal"
)

// The behaviours every store must keep (concurrency, revocation, rotation) are
// in storetest.RunAuthorizers, run against inmem and DynamoDB; these are the
// registry's own rules.

const refresh = "refreshtoken@@@abcdef"

func authorization(appID string) accounts.Authorized {
	return accounts.Authorized{
		AppID: appID, RefreshToken: refresh, FuncInfo: []int{1, 2, 3},
		NickName: "Tea House", UserName: "gh_3c884a361561", ServiceType: 2, VerifyType: 0,
	}
}

func (f *fixture) authorize(t *testing.T, appID string) accounts.Account {
	t.Helper()
	a, err := f.reg.Authorize(context.Background(), authorization(appID))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAuthorizeRefusesAndStoresNothing(t *testing.T) {
	tests := []struct {
		name   string
		change func(*accounts.Authorized)
		code   string
	}{
		{"a malformed AppID", func(in *accounts.Authorized) { in.AppID = "wx1" }, qr.EInvalid},
		{"no refresh token", func(in *accounts.Authorized) { in.RefreshToken = "" }, qr.EInvalid},
		{"the default account's AppID", func(in *accounts.Authorized) { in.AppID = defApp }, qr.EConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			in := authorization(app)
			tt.change(&in)
			_, err := f.reg.Authorize(context.Background(), in)
			if qr.ErrorCode(err) != tt.code {
				t.Fatalf("Authorize = %v, want %s", err, tt.code)
			}
			if strings.Contains(err.Error(), refresh) {
				t.Errorf("the error quotes the refresh token: %v", err)
			}
			if n := f.stored(t); n != 0 {
				t.Errorf("%d accounts stored", n)
			}
		})
	}
}

func TestAnAuthorizerWithoutANicknameIsNamedByItsAppID(t *testing.T) {
	for _, nick := range []string{"", "  ", "a\x07b", strings.Repeat("名", accounts.MaxNameLen+1)} {
		f := newFixture(t)
		in := authorization(app)
		in.NickName = nick
		a, err := f.reg.Authorize(context.Background(), in)
		if err != nil || a.Name != app {
			t.Errorf("nickname %q: name %q, %v; want the AppID", nick, a.Name, err)
		}
	}
}

// The refresh token is sealed for its own purpose: the callback, which may open
// only callback blobs, cannot open it.
func TestTheRefreshTokenIsSealedForItsOwnPurpose(t *testing.T) {
	f := newFixture(t)
	f.authorize(t, app)
	it, err := f.store.Account(context.Background(), app)
	if err != nil {
		t.Fatal(err)
	}
	if len(it.SealedRefreshToken) == 0 || bytes.Contains(it.SealedRefreshToken, []byte(refresh)) {
		t.Fatalf("the stored refresh token is absent or in the clear")
	}
	if len(it.SealedCallback) != 0 || len(it.SealedAppSecret) != 0 {
		t.Error("an authorizer has blobs of a direct account")
	}
	sealer, err := seal.NewLocal(bytes.Repeat([]byte{7}, 32)) // the fixture's key
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []seal.Purpose{seal.Callback, seal.AppSecret} {
		if _, err := sealer.Open(context.Background(), app, p, it.SealedRefreshToken); !errors.Is(err, seal.ErrSealed) {
			t.Errorf("the refresh token opened as %s: %v", p, err)
		}
	}
	if got, _, err := f.reg.RefreshToken(context.Background(), app); err != nil || got != refresh {
		t.Errorf("RefreshToken = %v (matches: %v)", err, got == refresh)
	}
}

// An authorizer's pushes are verified with the platform's keys: Callback says
// its kind and opens nothing, whatever version the caller knows.
func TestCallbackOfAnAuthorizerOpensNoKeys(t *testing.T) {
	f := newFixture(t)
	f.authorize(t, app)
	for _, known := range []int64{0, 99} {
		a, keys, version, err := f.reg.Callback(context.Background(), app, known)
		if err != nil || keys != nil || a.Kind != accounts.Authorizer || version == 0 {
			t.Errorf("Callback(known %d) = %s, %+v, %d, %v; want an authorizer and no keys", known, a.Kind, keys, version, err)
		}
	}
}

// What only a direct account has is refused for an authorizer, and what only
// an authorizer has is refused for the default account and for accounts the
// stack does not serve.
func TestEachKindRefusesTheOthersOperations(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.authorize(t, app)
	name := "Other"
	const absent = "wx9999999999999999"
	tests := []struct {
		name string
		err  error
		code string
	}{
		{"AppSecret of an authorizer", func() error { _, err := f.reg.AppSecret(ctx, app); return err }(), qr.EConflict},
		{"Update of an authorizer", func() error { _, err := f.reg.Update(ctx, app, accounts.Patch{Name: &name}); return err }(), qr.EConflict},
		{"RefreshToken of the default account", func() error { _, _, err := f.reg.RefreshToken(ctx, defApp); return err }(), qr.EConflict},
		{"Revoke of the default account", f.reg.Revoke(ctx, defApp), qr.EConflict},
		{"RefreshToken of no account", func() error { _, _, err := f.reg.RefreshToken(ctx, absent); return err }(), qr.EAccountNotFound},
		{"ReplaceRefreshToken of no account", f.reg.ReplaceRefreshToken(ctx, absent, "x", 1), qr.EAccountNotFound},
		{"Revoke of no account", f.reg.Revoke(ctx, absent), qr.EAccountNotFound},
		{"MarkPermissionMissing of no account", f.reg.MarkPermissionMissing(ctx, absent, 3), qr.EAccountNotFound},
		{"FlagReauthorization of no account", f.reg.FlagReauthorization(ctx, absent, "errcode 61023"), qr.EAccountNotFound},
		{"an empty rotated refresh token", f.reg.ReplaceRefreshToken(ctx, app, "", 1), qr.EInvalid},
		{"permission set 0", f.reg.MarkPermissionMissing(ctx, app, 0), qr.EInvalid},
		{"a reauthorization without a reason", f.reg.FlagReauthorization(ctx, app, " "), qr.EInvalid},
		{"a reauthorization reason with a control character", f.reg.FlagReauthorization(ctx, app, "a\nb"), qr.EInvalid},
	}
	for _, tt := range tests {
		if qr.ErrorCode(tt.err) != tt.code {
			t.Errorf("%s = %v, want %s", tt.name, tt.err, tt.code)
		}
	}
}

func TestMissingPermissionsAndReauthorizationAreNoted(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.authorize(t, app)
	steps := []struct {
		name         string
		do           func() error
		wantMissing  []int
		wantReason   string
		wantNewWrite bool
	}{
		{"set 3 refused", func() error { return f.reg.MarkPermissionMissing(ctx, app, 3) }, []int{3}, "", true},
		{"set 1 refused", func() error { return f.reg.MarkPermissionMissing(ctx, app, 1) }, []int{1, 3}, "", true},
		{"set 3 refused again writes nothing", func() error { return f.reg.MarkPermissionMissing(ctx, app, 3) }, []int{1, 3}, "", false},
		{"a refresh token refused", func() error { return f.reg.FlagReauthorization(ctx, app, "errcode 61023") }, []int{1, 3}, "errcode 61023", true},
		{"the same again writes nothing", func() error { return f.reg.FlagReauthorization(ctx, app, "errcode 61023") }, []int{1, 3}, "errcode 61023", false},
		{"a long reason is cut", func() error { return f.reg.FlagReauthorization(ctx, app, strings.Repeat("x", 300)) }, []int{1, 3}, strings.Repeat("x", 200), true},
	}
	version := int64(0)
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		it, err := f.store.Account(ctx, app)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(it.MissingPermissions, s.wantMissing) || it.ReauthorizationReason != s.wantReason || it.NeedsReauthorization != (s.wantReason != "") {
			t.Errorf("%s: missing %v, reauthorization %v %q", s.name, it.MissingPermissions, it.NeedsReauthorization, it.ReauthorizationReason)
		}
		if wrote := it.Version != version; version != 0 && wrote != s.wantNewWrite {
			t.Errorf("%s: wrote %v, want %v", s.name, wrote, s.wantNewWrite)
		}
		version = it.Version
	}
}

func TestAuthorizersListsOnlyActiveAuthorizers(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.reg.Create(ctx, valid()); err != nil { // app: direct
		t.Fatal(err)
	}
	active, revoked := "wx2222222222222222", "wx3333333333333333"
	f.authorize(t, active)
	f.authorize(t, revoked)
	if err := f.reg.Revoke(ctx, revoked); err != nil {
		t.Fatal(err)
	}
	got, err := f.reg.Authorizers(ctx)
	if err != nil || len(got) != 1 || got[0].AppID != active {
		t.Errorf("Authorizers = %+v, %v; want %s only", got, err, active)
	}
}

// A direct account's JSON is what it was before authorizers: none of their
// fields, not even as zeros.
func TestADirectAccountsJSONHasNoAuthorizerFields(t *testing.T) {
	f := newFixture(t)
	a, err := f.reg.Create(context.Background(), valid())
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"appid", "created_at", "default", "kind", "message_mode", "name", "status"}
	if !slices.Equal(keys, want) {
		t.Errorf("a direct account's JSON has %v, want %v", keys, want)
	}
}
