package wechat

import "slices"

// PermissionSet is a permission set an account grants a third-party
// platform: a funcscope_category id of func_info (§13.5).
type PermissionSet int

// The permission sets the project's calls depend on (§13.5). Others (19,
// 100, 101, …) have no name here; they appear as their numbers.
const (
	PermissionMessages        PermissionSet = 1 // message management: pushes, customer-service messages
	PermissionUsers           PermissionSet = 2 // user management: tags
	PermissionAccountService  PermissionSet = 3 // account service: qrcode/create
	PermissionCustomerService PermissionSet = 6 // multi-customer-service: also allows customer-service messages
)

// PermissionSets is what an API needs from an authorizer: any one of the
// sets.
type PermissionSets []PermissionSet

// apiPermissions are §13.5's requirements, by path. tags/get is not listed
// there; it is user management like tags/create, so it takes the same sets.
var apiPermissions = map[string]PermissionSets{
	"/cgi-bin/qrcode/create":             {PermissionAccountService},
	"/cgi-bin/message/custom/send":       {PermissionMessages, PermissionCustomerService, 19, 100, 101},
	"/cgi-bin/tags/create":               {PermissionUsers, 100},
	"/cgi-bin/tags/get":                  {PermissionUsers, 100},
	"/cgi-bin/tags/members/batchtagging": {PermissionUsers, 100},
}

// PermissionsFor returns the sets of which a call to path (such as
// "/cgi-bin/qrcode/create") with an authorizer token needs one: the paths
// of CreateQRCode, SendCustomMessage, CreateTag, Tags and BatchTag. It
// returns nil for any other path, whose needs this package does not know.
func PermissionsFor(path string) PermissionSets { return slices.Clone(apiPermissions[path]) }

// GrantedBy reports whether funcInfo (Authorization.FuncInfo) holds one of
// the sets. Nil sets, an unknown requirement, are granted by nothing, so
// that a caller asking about an unlisted API is not told yes.
func (s PermissionSets) GrantedBy(funcInfo []int) bool {
	for _, p := range s {
		if slices.Contains(funcInfo, int(p)) {
			return true
		}
	}
	return false
}
