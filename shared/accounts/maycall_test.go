package accounts_test

import (
	"strings"
	"testing"

	"wechatqr/shared/accounts"
	"wechatqr/shared/qr"
)

func TestMayCallRefusesWhatAnAuthorizerHasNotGrantedBeforeWeChatIsAsked(t *testing.T) {
	const create, tags, send = "/cgi-bin/qrcode/create", "/cgi-bin/tags/members/batchtagging", "/cgi-bin/message/custom/send"
	authorizer := func(perms, missing []int) accounts.Account {
		return accounts.Account{AppID: "wx4b4b4b4b4b4b4b4b", Kind: accounts.Authorizer, Status: accounts.Active, Permissions: perms, MissingPermissions: missing}
	}
	for _, c := range []struct {
		name    string
		a       accounts.Account
		path    string
		want    string // qr error code, "" for allowed
		mention string // what the message must name
	}{
		{"a direct account may make any call", accounts.Account{AppID: "wx2c2c2c2c2c2c2c2c", Kind: accounts.Direct, Status: accounts.Active}, create, "", ""},
		{"an authorizer with set 3 may create codes", authorizer([]int{1, 2, 3}, nil), create, "", ""},
		{"an authorizer without set 3 may not create codes", authorizer([]int{1, 2}, nil), create, qr.EPermissionMissing, "permission set 3 (account service)"},
		{"a set WeChat refused since (61007) is missing", authorizer([]int{1, 2, 3}, []int{3}), create, qr.EPermissionMissing, "permission set 3"},
		{"tags need set 2", authorizer([]int{1, 3}, nil), tags, qr.EPermissionMissing, "permission set 2 (user management)"},
		{"set 100 also allows tags", authorizer([]int{100}, nil), tags, "", ""},
		{"messages need set 1", authorizer([]int{2, 3}, nil), send, qr.EPermissionMissing, "permission set 1 (message management)"},
		{"set 6 also allows messages", authorizer([]int{6}, nil), send, "", ""},
		{"a revoked authorizer may make no call", accounts.Account{AppID: "wx4b4b4b4b4b4b4b4b", Kind: accounts.Authorizer, Status: accounts.Revoked, Permissions: []int{1, 2, 3}}, create, qr.EAccountRevoked, "authorizes again"},
		{"an API whose needs are unknown is refused to an authorizer", authorizer([]int{1, 2, 3}, nil), "/cgi-bin/menu/create", qr.EPermissionMissing, "/cgi-bin/menu/create"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.a.MayCall(c.path)
			if got := qr.ErrorCode(err); err != nil && got != c.want || err == nil && c.want != "" {
				t.Fatalf("MayCall(%s) = %v; want %q", c.path, err, c.want)
			}
			if err != nil && !strings.Contains(err.Error(), c.mention) {
				t.Errorf("the message %q does not name %q", err, c.mention)
			}
		})
	}
}
