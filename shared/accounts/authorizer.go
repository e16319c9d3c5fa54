package accounts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"wechatqr/shared/qr"
	"wechatqr/shared/seal"
)

// Authorized is an authorization of the platform by an official account, as
// api_query_auth and api_get_authorizer_info report it (docs/wechat.md
// §13.3), whether it arrived as an authorized or updateauthorized push or
// through the redirect.
type Authorized struct {
	AppID        string
	RefreshToken string
	// FuncInfo are the funcscope_category ids granted.
	FuncInfo []int

	NickName      string
	HeadImg       string
	UserName      string // gh_…, the ToUserName of the account's pushes
	PrincipalName string
	ServiceType   int // service_type_info.id
	VerifyType    int // verify_type_info.id
}

// writeAttempts bounds the read-modify-write retries of one change: each
// conflict means another writer succeeded, so a few suffice unless something
// writes in a loop.
const writeAttempts = 8

// maxReasonLen bounds a reauthorization reason, in characters: it names what
// WeChat refused (an errcode), nothing longer.
const maxReasonLen = 200

// Authorize creates the authorizer account of in, or brings the existing one
// up to date: active again if it was revoked, its permissions and details as
// given, its missing permissions and reauthorization flag cleared, and its
// refresh token replaced. The same authorization arriving twice, even at once
// (the push and the redirect), leaves one account: every write is conditioned
// on what was read, and a conflict reads again. The default account and a
// direct one cannot become authorizers (qr.EConflict): their pushes are
// verified with their own keys, which an authorization would silently
// replace.
func (r *Registry) Authorize(ctx context.Context, in Authorized) (Account, error) {
	if err := CheckAppID(in.AppID); err != nil {
		return Account{}, err
	}
	if in.RefreshToken == "" {
		return Account{}, qr.Errorf(qr.EInvalid, "the authorization of %s carries no refresh token", in.AppID)
	}
	if in.AppID == r.def.AppID {
		return Account{}, qr.Errorf(qr.EConflict, "%s is the stack's default account: it cannot also be served through the platform", in.AppID)
	}
	sealed, err := sealJSON(ctx, r.sealer, in.AppID, seal.RefreshToken, refreshToken{in.RefreshToken})
	if err != nil {
		return Account{}, err
	}
	for range writeAttempts {
		now := r.now().UTC().Truncate(time.Second)
		it, err := r.store.Account(ctx, in.AppID)
		switch qr.ErrorCode(err) {
		case qr.EAccountNotFound:
			it = Item{Account: Account{AppID: in.AppID, Kind: Authorizer, CreatedAt: now}, Version: 1}
			in.apply(&it, sealed, now)
			err = r.store.CreateAccount(ctx, it)
		case "":
			if it.Kind != Authorizer {
				return Account{}, qr.Errorf(qr.EConflict, "account %s is a direct account: delete it before it authorizes the platform", in.AppID)
			}
			prev := it.Version
			it.Version++
			in.apply(&it, sealed, now)
			err = r.store.UpdateAccount(ctx, it, prev)
		default:
			return Account{}, err
		}
		switch qr.ErrorCode(err) {
		case "":
			return it.Account, nil
		case qr.EConflict, qr.EAccountNotFound: // another writer was first: read again
			continue
		}
		return Account{}, err
	}
	return Account{}, qr.Errorf(qr.EConflict, "account %s kept changing while its authorization was stored; try again", in.AppID)
}

// apply sets what an authorization says on it.
func (in Authorized) apply(it *Item, sealed []byte, now time.Time) {
	a := &it.Account
	a.Name = authorizerName(in.NickName, in.AppID)
	a.Status = Active
	a.UserName, a.HeadImg, a.PrincipalName = in.UserName, in.HeadImg, in.PrincipalName
	a.ServiceType, a.VerifyType = ptr(in.ServiceType), ptr(in.VerifyType)
	a.Permissions = sortedSet(in.FuncInfo)
	a.MissingPermissions = nil
	a.NeedsReauthorization, a.ReauthorizationReason = false, ""
	a.AuthorizedAt = now
	it.SealedRefreshToken = sealed
	it.RefreshVersion++
}

// authorizerName is the name shown for an authorizer: its nickname when it is
// one a direct account could have been given, else its AppID. A nickname is
// WeChat's, not the caller's, so a bad one is not an error worth refusing the
// authorization for.
func authorizerName(nick, appID string) string {
	if checkName(nick) != nil {
		return appID
	}
	return nick
}

func ptr(n int) *int { return &n }

// sortedSet is ids ascending, each once.
func sortedSet(ids []int) []int {
	if len(ids) == 0 {
		return nil
	}
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// refreshToken is the refresh token's blob.
type refreshToken struct {
	RefreshToken string `json:"refresh_token"`
}

// authorizer reads appID and checks that it is an authorizer the stack still
// serves: qr.EAccountNotFound when absent, qr.EAccountRevoked when revoked,
// qr.EConflict for the default account or a direct one.
func (r *Registry) authorizer(ctx context.Context, appID string) (Item, error) {
	if err := CheckAppID(appID); err != nil {
		return Item{}, err
	}
	if appID == r.def.AppID {
		return Item{}, qr.Errorf(qr.EConflict, "%s is the stack's default account, not an authorizer", appID)
	}
	it, err := r.store.Account(ctx, appID)
	if err != nil {
		return Item{}, err
	}
	switch {
	case it.Kind != Authorizer:
		return Item{}, qr.Errorf(qr.EConflict, "account %s is a direct account, not an authorizer", appID)
	case it.Status == Revoked:
		return Item{}, qr.Errorf(qr.EAccountRevoked, "account %s withdrew its authorization; it must authorize the platform again", appID)
	}
	return it, nil
}

// RefreshToken opens the refresh token of the authorizer appID, with the
// version a replacement of it is conditioned on (ReplaceRefreshToken).
func (r *Registry) RefreshToken(ctx context.Context, appID string) (token string, version int64, err error) {
	it, err := r.authorizer(ctx, appID)
	if err != nil {
		return "", 0, err
	}
	var rt refreshToken
	if err := openJSON(ctx, r.sealer, appID, seal.RefreshToken, it.SealedRefreshToken, &rt); err != nil {
		return "", 0, err
	}
	if rt.RefreshToken == "" {
		return "", 0, fmt.Errorf("accounts: the refresh-token blob of %s is empty", appID)
	}
	return rt.RefreshToken, it.RefreshVersion, nil
}

// ReplaceRefreshToken stores the refresh token api_authorizer_token rotated
// to, if the stored one is still the one at version (RefreshToken's): a writer
// that read before another's replacement or a new authorization loses with
// qr.EConflict and writes nothing, so the newer token is kept. Changes of the
// account's other fields meanwhile do not make it lose.
func (r *Registry) ReplaceRefreshToken(ctx context.Context, appID, newToken string, version int64) error {
	if newToken == "" {
		return qr.Errorf(qr.EInvalid, "an empty refresh token for %s", appID)
	}
	var sealed []byte
	return r.change(ctx, appID, func(it *Item) (bool, error) {
		if it.RefreshVersion != version {
			return false, qr.Errorf(qr.EConflict, "the refresh token of %s was replaced since it was read", appID)
		}
		if sealed == nil {
			var err error
			if sealed, err = sealJSON(ctx, r.sealer, appID, seal.RefreshToken, refreshToken{newToken}); err != nil {
				return false, err
			}
		}
		it.SealedRefreshToken = sealed
		it.RefreshVersion++
		return true, nil
	})
}

// MarkPermissionMissing notes that WeChat refused a call of the authorizer
// appID for want of funcscope set (61007), until it authorizes again.
func (r *Registry) MarkPermissionMissing(ctx context.Context, appID string, set int) error {
	if set <= 0 {
		return qr.Errorf(qr.EInvalid, "permission set %d is no funcscope id", set)
	}
	return r.change(ctx, appID, func(it *Item) (bool, error) {
		if slices.Contains(it.MissingPermissions, set) {
			return false, nil
		}
		it.MissingPermissions = sortedSet(append(slices.Clone(it.MissingPermissions), set))
		return true, nil
	})
}

// FlagReauthorization notes that the stack cannot act for the authorizer
// appID until it authorizes the platform again (its refresh token refused,
// 61023), and why. reason names an errcode; it must hold no secret.
func (r *Registry) FlagReauthorization(ctx context.Context, appID, reason string) error {
	reason = strings.TrimSpace(reason)
	if reason == "" || !isPrintable(reason) || !utf8.ValidString(reason) {
		return qr.Errorf(qr.EInvalid, "a reauthorization needs a reason: printable text")
	}
	if utf8.RuneCountInString(reason) > maxReasonLen {
		reason = string([]rune(reason)[:maxReasonLen])
	}
	return r.change(ctx, appID, func(it *Item) (bool, error) {
		if it.NeedsReauthorization && it.ReauthorizationReason == reason {
			return false, nil
		}
		it.NeedsReauthorization, it.ReauthorizationReason = true, reason
		return true, nil
	})
}

// change applies edit to the active authorizer appID and stores it, reading
// again on a conflict. edit reports whether it changed anything.
func (r *Registry) change(ctx context.Context, appID string, edit func(*Item) (bool, error)) error {
	for range writeAttempts {
		it, err := r.authorizer(ctx, appID)
		if err != nil {
			return err
		}
		changed, err := edit(&it)
		if err != nil || !changed {
			return err
		}
		prev := it.Version
		it.Version++
		switch err := r.store.UpdateAccount(ctx, it, prev); qr.ErrorCode(err) {
		case "":
			return nil
		case qr.EConflict:
			continue
		default:
			return err
		}
	}
	return qr.Errorf(qr.EConflict, "account %s kept changing; try again", appID)
}

// Revoke stops serving the authorizer appID (an unauthorized push, or 61003):
// its status revoked, its refresh token removed and its access token deleted,
// in one transaction. The account stays, so that its data can still be found
// and a new authorization brings it back. Revoking a revoked account is not
// an error, and deletes its token again in case one was written meanwhile.
func (r *Registry) Revoke(ctx context.Context, appID string) error {
	for range writeAttempts {
		it, err := r.authorizer(ctx, appID)
		switch qr.ErrorCode(err) {
		case "":
		case qr.EAccountRevoked:
			if it, err = r.store.Account(ctx, appID); err != nil {
				return err
			}
		default:
			return err
		}
		prev := it.Version
		it.Version++
		it.Status = Revoked
		it.SealedRefreshToken = nil
		it.RefreshVersion++ // a rotation read before the revocation loses
		switch err := r.store.RevokeAccount(ctx, it, prev); qr.ErrorCode(err) {
		case "":
			return nil
		case qr.EConflict:
			continue
		default:
			return err
		}
	}
	return qr.Errorf(qr.EConflict, "account %s kept changing while it was revoked; try again", appID)
}

// Authorizers returns the active authorizers, by AppID: the accounts whose
// tokens come from the platform.
func (r *Registry) Authorizers(ctx context.Context) ([]Account, error) {
	items, err := r.store.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	var out []Account
	for _, it := range items {
		if it.Kind == Authorizer && it.Status == Active && it.AppID != r.def.AppID {
			out = append(out, it.Account)
		}
	}
	return out, nil
}
