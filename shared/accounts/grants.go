package accounts

import (
	"context"

	"wechatqr/shared/wechat"
)

// Grants are one account's permission checks, as the calls made for it read
// them (actions.Permissions): the account is read at each call, one GetItem,
// so a re-authorization that grants a set is seen at once.
type Grants struct {
	Registry *Registry
	AppID    string
}

// MayCall reads the account and says whether it may call path (Account.MayCall).
func (g Grants) MayCall(ctx context.Context, path string) error {
	a, err := g.Registry.Get(ctx, g.AppID)
	if err != nil {
		return err
	}
	return a.MayCall(path)
}

// Refused notes WeChat's refusal (61007) of path: the first set it needs is
// missing.
func (g Grants) Refused(ctx context.Context, path string) error {
	sets := wechat.PermissionsFor(path)
	if len(sets) == 0 {
		return nil
	}
	return g.Registry.MarkPermissionMissing(ctx, g.AppID, int(sets[0]))
}
