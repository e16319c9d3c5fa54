package storetest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"wechatqr/shared/accounts"
	"wechatqr/shared/qr"
	"wechatqr/shared/seal"
)

// AccountStore is what RunAuthorizers exercises: an accounts store, and the
// access token items of the tokens table that a revocation deletes.
type AccountStore struct {
	Store accounts.Store
	// PutToken writes appID's access token item, as tokenrefresh does.
	PutToken func(ctx context.Context, appID string) error
	// HasToken reports whether appID has an access token item.
	HasToken func(ctx context.Context, appID string) (bool, error)
}

// RunAuthorizers checks, through an accounts.Registry over the store open
// returns, the promises about authorizer accounts that the callback, the API
// and tokenrefresh build on. Every subtest uses AppIDs of its own, so open may
// hand every subtest the same store.
func RunAuthorizers(t *testing.T, open func(t *testing.T) AccountStore) {
	for _, c := range authorizerCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := open(t)
			sealer, err := seal.NewLocal(bytes.Repeat([]byte{9}, 32))
			if err != nil {
				t.Fatal(err)
			}
			reg, err := accounts.NewRegistry(accounts.Config{
				Default: accounts.Account{AppID: "wx0000000000000000"}, Store: s.Store, Sealer: sealer,
			})
			if err != nil {
				t.Fatal(err)
			}
			c.run(t, &authEnv{t: t, ctx: t.Context(), AccountStore: s, reg: reg})
		})
	}
}

var authorizerCases = []struct {
	name string
	run  func(*testing.T, *authEnv)
}{
	{"an_authorization_stores_what_the_platform_reported", anAuthorizationStoresItsDetails},
	{"the_same_authorization_twice_at_once_leaves_one_account", authorizeTwiceConcurrently},
	{"a_refresh_token_replaced_with_a_stale_version_conflicts_and_the_newer_is_kept", staleRefreshTokenReplacementConflicts},
	{"concurrent_replacements_of_a_refresh_token_one_wins", concurrentReplacementsOneWins},
	{"a_refresh_token_replacement_survives_an_unrelated_change", replacementSurvivesAnUnrelatedChange},
	{"revoke_deletes_the_token_item_and_the_refresh_token", revokeDeletesTokenAndRefreshToken},
	{"a_revoked_authorizer_authorized_again_is_active_and_clean", revokedAuthorizedAgainIsActive},
	{"a_direct_account_is_not_taken_over_by_an_authorization", aDirectAccountIsNotTakenOver},
	{"nothing_sealed_appears_in_the_account_json", nothingSealedInTheJSON},
}

type authEnv struct {
	AccountStore
	t   *testing.T
	ctx context.Context
	reg *accounts.Registry
}

const alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// appID is an AppID no other subtest uses.
func (e *authEnv) appID() string {
	b := []byte("wx")
	for range 16 {
		b = append(b, alnum[rand.IntN(len(alnum))])
	}
	return string(b)
}

func authorized(appID, refresh string) accounts.Authorized {
	return accounts.Authorized{
		AppID: appID, RefreshToken: refresh, FuncInfo: []int{3, 1, 2, 1},
		NickName: "Tea House", HeadImg: "http://wx.qlogo.cn/mmopen/head", UserName: "gh_3c884a361561",
		PrincipalName: "Tea House Ltd", ServiceType: 0, VerifyType: -1,
	}
}

func (e *authEnv) authorize(in accounts.Authorized) accounts.Account {
	e.t.Helper()
	a, err := e.reg.Authorize(e.ctx, in)
	if err != nil {
		e.t.Fatalf("Authorize(%s): %v", in.AppID, err)
	}
	return a
}

func (e *authEnv) item(appID string) accounts.Item {
	e.t.Helper()
	it, err := e.Store.Account(e.ctx, appID)
	if err != nil {
		e.t.Fatalf("Account(%s): %v", appID, err)
	}
	return it
}

func (e *authEnv) wantRefreshToken(appID, want string) int64 {
	e.t.Helper()
	got, v, err := e.reg.RefreshToken(e.ctx, appID)
	if err != nil || got != want {
		e.t.Fatalf("RefreshToken = %q, %v; want %q", got, err, want)
	}
	return v
}

// count is how many stored accounts have appID.
func (e *authEnv) count(appID string) int {
	e.t.Helper()
	items, err := e.Store.Accounts(e.ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, it := range items {
		if it.AppID == appID {
			n++
		}
	}
	return n
}

func anAuthorizationStoresItsDetails(t *testing.T, e *authEnv) {
	app := e.appID()
	e.authorize(authorized(app, "refresh@@@1"))
	got := e.item(app).Account
	if got.Kind != accounts.Authorizer || got.Status != accounts.Active || got.Name != "Tea House" ||
		got.UserName != "gh_3c884a361561" || got.HeadImg != "http://wx.qlogo.cn/mmopen/head" || got.PrincipalName != "Tea House Ltd" {
		t.Errorf("stored %+v", got)
	}
	// 0 and -1 are values, not absences.
	if got.ServiceType == nil || *got.ServiceType != 0 || got.VerifyType == nil || *got.VerifyType != -1 {
		t.Errorf("service_type %v, verify_type %v; want 0 and -1", got.ServiceType, got.VerifyType)
	}
	if !slices.Equal(got.Permissions, []int{1, 2, 3}) || !got.HasPermission(3) || got.HasPermission(4) {
		t.Errorf("permissions %v, want [1 2 3]", got.Permissions)
	}
	if got.AuthorizedAt.IsZero() || got.CreatedAt.IsZero() {
		t.Errorf("authorized_at %v, created_at %v: want both set", got.AuthorizedAt, got.CreatedAt)
	}
	e.wantRefreshToken(app, "refresh@@@1")
}

func authorizeTwiceConcurrently(t *testing.T, e *authEnv) {
	app := e.appID()
	var wg sync.WaitGroup
	start := make(chan struct{}) // all read before any writes, as far as the scheduler lets them
	for i := range Concurrency {
		wg.Go(func() {
			<-start
			// The push and the redirect: the same authorization, tokens that
			// may differ.
			if _, err := e.reg.Authorize(e.ctx, authorized(app, "refresh@@@"+string(rune('a'+i)))); err != nil {
				t.Errorf("Authorize %d: %v", i, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if n := e.count(app); n != 1 {
		t.Fatalf("%d accounts %s, want 1", n, app)
	}
	it := e.item(app)
	if it.Status != accounts.Active || it.Kind != accounts.Authorizer {
		t.Errorf("stored %s %s", it.Kind, it.Status)
	}
	got, _, err := e.reg.RefreshToken(e.ctx, app)
	if err != nil || !strings.HasPrefix(got, "refresh@@@") {
		t.Errorf("RefreshToken = %q, %v; want one of the authorizations'", got, err)
	}
}

func staleRefreshTokenReplacementConflicts(t *testing.T, e *authEnv) {
	app := e.appID()
	e.authorize(authorized(app, "refresh@@@old"))
	v := e.wantRefreshToken(app, "refresh@@@old")
	if err := e.reg.ReplaceRefreshToken(e.ctx, app, "refresh@@@new", v); err != nil {
		t.Fatalf("ReplaceRefreshToken: %v", err)
	}
	before := e.item(app)
	if err := e.reg.ReplaceRefreshToken(e.ctx, app, "refresh@@@stale", v); qr.ErrorCode(err) != qr.EConflict {
		t.Fatalf("a replacement read before the last = %v, want conflict", err)
	}
	if after := e.item(app); after.Version != before.Version || !bytes.Equal(after.SealedRefreshToken, before.SealedRefreshToken) {
		t.Errorf("the losing replacement wrote: version %d → %d", before.Version, after.Version)
	}
	e.wantRefreshToken(app, "refresh@@@new")
}

func concurrentReplacementsOneWins(t *testing.T, e *authEnv) {
	app := e.appID()
	e.authorize(authorized(app, "refresh@@@old"))
	v := e.wantRefreshToken(app, "refresh@@@old")
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		winner string
		wins   int
	)
	for i := range Concurrency {
		wg.Go(func() {
			tok := "refresh@@@" + string(rune('a'+i))
			switch err := e.reg.ReplaceRefreshToken(e.ctx, app, tok, v); qr.ErrorCode(err) {
			case "":
				mu.Lock()
				winner, wins = tok, wins+1
				mu.Unlock()
			case qr.EConflict:
			default:
				t.Errorf("ReplaceRefreshToken: %v", err)
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d of %d replacements from one version won, want exactly 1", wins, Concurrency)
	}
	e.wantRefreshToken(app, winner)
}

func replacementSurvivesAnUnrelatedChange(t *testing.T, e *authEnv) {
	app := e.appID()
	e.authorize(authorized(app, "refresh@@@old"))
	v := e.wantRefreshToken(app, "refresh@@@old")
	if err := e.reg.MarkPermissionMissing(e.ctx, app, 2); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.ReplaceRefreshToken(e.ctx, app, "refresh@@@new", v); err != nil {
		t.Fatalf("a rotation after a missing permission was noted = %v, want it stored", err)
	}
	e.wantRefreshToken(app, "refresh@@@new")
	if got := e.item(app).MissingPermissions; !slices.Equal(got, []int{2}) {
		t.Errorf("missing permissions %v, want [2] kept", got)
	}
}

func revokeDeletesTokenAndRefreshToken(t *testing.T, e *authEnv) {
	app, other := e.appID(), e.appID()
	e.authorize(authorized(app, "refresh@@@1"))
	e.authorize(authorized(other, "refresh@@@2"))
	for _, a := range []string{app, other} {
		if err := e.PutToken(e.ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	v := e.wantRefreshToken(app, "refresh@@@1")
	for i := range 2 { // revoking twice is fine
		if err := e.reg.Revoke(e.ctx, app); err != nil {
			t.Fatalf("Revoke %d: %v", i+1, err)
		}
	}
	it := e.item(app)
	if it.Status != accounts.Revoked || len(it.SealedRefreshToken) != 0 {
		t.Errorf("revoked: status %s, %d bytes of refresh token; want revoked and none", it.Status, len(it.SealedRefreshToken))
	}
	if has, err := e.HasToken(e.ctx, app); err != nil || has {
		t.Errorf("the revoked account's token item is there: %v, %v", has, err)
	}
	if has, err := e.HasToken(e.ctx, other); err != nil || !has {
		t.Errorf("another account's token item went: %v, %v", has, err)
	}
	if _, _, err := e.reg.RefreshToken(e.ctx, app); qr.ErrorCode(err) != qr.EAccountRevoked {
		t.Errorf("RefreshToken of a revoked account = %v, want account_revoked", err)
	}
	if err := e.reg.ReplaceRefreshToken(e.ctx, app, "refresh@@@late", v); qr.ErrorCode(err) != qr.EAccountRevoked {
		t.Errorf("a rotation finishing after the revocation = %v, want account_revoked", err)
	}
	if len(e.item(app).SealedRefreshToken) != 0 {
		t.Error("a rotation wrote a refresh token into a revoked account")
	}
	list, err := e.reg.Authorizers(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		if a.AppID == app {
			t.Error("Authorizers lists the revoked account")
		}
	}
}

func revokedAuthorizedAgainIsActive(t *testing.T, e *authEnv) {
	app := e.appID()
	first := e.authorize(authorized(app, "refresh@@@1"))
	if err := e.reg.MarkPermissionMissing(e.ctx, app, 3); err != nil {
		t.Fatal(err)
	}
	if err := e.reg.FlagReauthorization(e.ctx, app, "errcode 61023: refresh_token is invalid"); err != nil {
		t.Fatal(err)
	}
	if it := e.item(app); !it.NeedsReauthorization || it.ReauthorizationReason != "errcode 61023: refresh_token is invalid" || !slices.Equal(it.MissingPermissions, []int{3}) {
		t.Fatalf("flagged: needs %v %q, missing %v", it.NeedsReauthorization, it.ReauthorizationReason, it.MissingPermissions)
	}
	if err := e.reg.Revoke(e.ctx, app); err != nil {
		t.Fatal(err)
	}
	in := authorized(app, "refresh@@@2")
	in.FuncInfo = []int{1, 2, 3, 7}
	got := e.authorize(in)
	if got.Status != accounts.Active || got.MissingPermissions != nil || got.NeedsReauthorization || got.ReauthorizationReason != "" {
		t.Errorf("authorized again: %+v; want active, nothing missing, no reauthorization", got)
	}
	if !slices.Equal(got.Permissions, []int{1, 2, 3, 7}) {
		t.Errorf("permissions %v, want the new grant", got.Permissions)
	}
	if !got.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("created_at %v, want the first authorization's %v", got.CreatedAt, first.CreatedAt)
	}
	if n := e.count(app); n != 1 {
		t.Errorf("%d accounts %s, want 1", n, app)
	}
	e.wantRefreshToken(app, "refresh@@@2")
}

func aDirectAccountIsNotTakenOver(t *testing.T, e *authEnv) {
	app := e.appID()
	direct := accounts.Item{Account: accounts.Account{
		AppID: app, Name: "Shop", Kind: accounts.Direct, Status: accounts.Active, CreatedAt: time.Unix(1764810000, 0).UTC(),
	}, SealedCallback: []byte{1}, SealedAppSecret: []byte{2}, Version: 1}
	if err := e.Store.CreateAccount(e.ctx, direct); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		err  error
	}{
		{"Authorize", func() error { _, err := e.reg.Authorize(e.ctx, authorized(app, "refresh@@@1")); return err }()},
		{"Revoke", e.reg.Revoke(e.ctx, app)},
		{"MarkPermissionMissing", e.reg.MarkPermissionMissing(e.ctx, app, 3)},
	} {
		if qr.ErrorCode(c.err) != qr.EConflict {
			t.Errorf("%s of a direct account = %v, want conflict", c.name, c.err)
		}
	}
	if it := e.item(app); it.Kind != accounts.Direct || it.Version != 1 || it.Status != accounts.Active {
		t.Errorf("the direct account changed: %s %s version %d", it.Kind, it.Status, it.Version)
	}
}

func nothingSealedInTheJSON(t *testing.T, e *authEnv) {
	app := e.appID()
	const secret = "refresh@@@SECRET-VALUE-0123456789"
	var shown []accounts.Account
	shown = append(shown, e.authorize(authorized(app, secret)))
	got, err := e.reg.Get(e.ctx, app)
	if err != nil {
		t.Fatal(err)
	}
	shown = append(shown, got)
	list, err := e.reg.List(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list { // other subtests' accounts are theirs to check
		if a.AppID == app {
			shown = append(shown, a)
		}
	}
	if len(shown) != 3 {
		t.Fatalf("List shows %d accounts %s, want 1", len(shown)-2, app)
	}
	it := e.item(app)
	if len(it.SealedRefreshToken) == 0 {
		t.Fatal("no sealed refresh token stored")
	}
	for _, a := range shown {
		b, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{secret, "SECRET", base64.StdEncoding.EncodeToString(it.SealedRefreshToken), `"refresh_token"`, `"sealed`} {
			if strings.Contains(string(b), bad) {
				t.Errorf("the account's JSON holds %q: %s", bad, b)
			}
		}
	}
	b, _ := json.Marshal(shown[0])
	for _, want := range []string{`"service_type":0`, `"verify_type":-1`, `"permissions":[1,2,3]`, `"head_img"`, `"authorized_at"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the authorizer's JSON lacks %s: %s", want, b)
		}
	}
}
