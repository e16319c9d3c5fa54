// Package accounts is the registry of the official accounts one stack serves
// (docs/accounts.md). The default account is the one the stack's parameters
// configure (WECHAT_APP_ID and its two secrets), as a single-account release
// had it; every other account is added at run time and kept in the accounts
// table, its credentials sealed under the stack's KMS key (package seal) in two
// blobs: the callback's (Token, EncodingAESKey and the values before a
// rotation) and the AppSecret, so that each function can open only the one it
// uses.
//
// The registry checks what it is given (the AppID's and the credentials'
// shapes, unknown fields are the API's to refuse), checks new credentials with
// WeChat before anything is stored, and keeps a rotated Token or key as
// "previous", as the default account's rotation does. It never returns, logs or
// quotes a credential.
package accounts

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"wechatqr/shared/qr"
	"wechatqr/shared/seal"
	"wechatqr/shared/wechat"
)

// Kind is how the stack holds an account's credentials.
type Kind string

// The kinds of account.
const (
	// Direct: the account's own AppSecret, Token and EncodingAESKey.
	Direct Kind = "direct"
	// Authorizer: the account authorized the stack's third-party platform.
	Authorizer Kind = "authorizer"
)

// Status is whether the stack serves an account.
type Status string

// The statuses.
const (
	Active  Status = "active"
	Revoked Status = "revoked"
)

// Account is an account as every route shows it: never a credential.
//
// The fields after CreatedAt are an authorizer's, as the platform reports them
// (docs/wechat.md §13.3, authorizer_info and func_info) and as the stack
// learns of missing permission sets; a direct account has none of them.
// ServiceType and VerifyType are pointers because their zero is a value
// (0 is a subscription account, and WeChat-verified).
type Account struct {
	AppID       string    `json:"appid"`
	Name        string    `json:"name"`
	Kind        Kind      `json:"kind"`
	Status      Status    `json:"status"`
	Default     bool      `json:"default"`
	UserName    string    `json:"user_name,omitempty"`
	MessageMode string    `json:"message_mode,omitempty"`
	CreatedAt   time.Time `json:"created_at"`

	HeadImg       string `json:"head_img,omitempty"`
	ServiceType   *int   `json:"service_type,omitempty"` // 0 subscription, 1 upgraded, 2 service
	VerifyType    *int   `json:"verify_type,omitempty"`  // -1 unverified, 0 WeChat-verified, …
	PrincipalName string `json:"principal_name,omitempty"`
	// Permissions are the funcscope ids granted, ascending.
	Permissions []int `json:"permissions,omitempty"`
	// MissingPermissions are the sets WeChat refused a call for (61007) since
	// the last authorization, ascending: the console asks for them again.
	MissingPermissions []int `json:"missing_permissions,omitempty"`
	// NeedsReauthorization says the stack cannot act for the account until it
	// authorizes the platform again, and ReauthorizationReason says why.
	NeedsReauthorization  bool      `json:"needs_reauthorization,omitempty"`
	ReauthorizationReason string    `json:"reauthorization_reason,omitempty"`
	AuthorizedAt          time.Time `json:"authorized_at,omitzero"`
}

// HasPermission reports whether an authorizer was granted funcscope set id.
func (a Account) HasPermission(id int) bool { return slices.Contains(a.Permissions, id) }

// setNames name the permission sets the stack's calls need (docs/wechat.md
// §13.5), for messages a user acts on.
var setNames = map[wechat.PermissionSet]string{
	wechat.PermissionMessages:       "message management",
	wechat.PermissionUsers:          "user management",
	wechat.PermissionAccountService: "account service",
}

// MayCall checks that the account may make the WeChat call path (such as
// "/cgi-bin/qrcode/create") before WeChat is asked: a revoked authorizer may
// make none (qr.EAccountRevoked); an authorizer must have granted one of the
// permission sets the call needs, and WeChat must not have refused it since
// (qr.EPermissionMissing, naming the set). A direct account may make any.
func (a Account) MayCall(path string) error {
	if a.Kind != Authorizer {
		return nil
	}
	if a.Status == Revoked {
		return qr.Errorf(qr.EAccountRevoked, "account %s withdrew its authorization of this platform: it authorizes again to be served", a.AppID)
	}
	sets := wechat.PermissionsFor(path)
	granted := slices.DeleteFunc(slices.Clone(a.Permissions), func(id int) bool { return slices.Contains(a.MissingPermissions, id) })
	if sets.GrantedBy(granted) {
		return nil
	}
	need := "one of the permission sets it needs"
	if len(sets) > 0 {
		need = fmt.Sprintf("permission set %d", sets[0])
		if name := setNames[sets[0]]; name != "" {
			need += " (" + name + ")"
		}
	}
	return qr.Errorf(qr.EPermissionMissing, "account %s has not granted this platform %s, which %s needs: its administrator authorizes again and grants it", a.AppID, need, path)
}

// CallbackKeys are what the callback verifies and opens an account's pushes
// with: the callback's blob.
type CallbackKeys struct {
	Token                  string `json:"token"`
	EncodingAESKey         string `json:"encoding_aes_key,omitempty"`
	PreviousToken          string `json:"previous_token,omitempty"`
	PreviousEncodingAESKey string `json:"previous_encoding_aes_key,omitempty"`
}

// Verifier builds the wechat.Verifier of keys for appID.
// The AppID is the AES trailer every sealed push of the account carries.
func (k CallbackKeys) Verifier(appID string) (*wechat.Verifier, error) {
	wk := wechat.Keys{Token: k.Token, PreviousToken: k.PreviousToken}
	for _, c := range []struct {
		key string
		dst **wechat.Cipher
	}{{k.EncodingAESKey, &wk.Cipher}, {k.PreviousEncodingAESKey, &wk.PreviousCipher}} {
		if c.key == "" {
			continue
		}
		var err error
		if *c.dst, err = wechat.NewCipher(c.key, appID); err != nil {
			return nil, fmt.Errorf("accounts: the stored keys of %s: %w", appID, err)
		}
	}
	return wechat.NewVerifier(wk)
}

// Item is an account as stored: the account, its sealed blobs (a direct
// account's callback keys and AppSecret, an authorizer's refresh token), and
// the version a change is conditioned on.
type Item struct {
	Account
	SealedCallback     []byte
	SealedAppSecret    []byte
	SealedRefreshToken []byte
	// RefreshVersion counts the refresh token's replacements: a rotation is
	// conditioned on it, not on Version, so that a change of anything else
	// (a missing permission noted meanwhile) does not throw a rotated token away.
	RefreshVersion int64
	Version        int64
}

// Store keeps the accounts (package dynamo's Accounts).
type Store interface {
	// CreateAccount stores it unless the AppID exists (qr.EConflict).
	CreateAccount(ctx context.Context, it Item) error
	// Account returns one (qr.EAccountNotFound when there is none).
	Account(ctx context.Context, appID string) (Item, error)
	// Accounts lists every stored account, in AppID order.
	Accounts(ctx context.Context) ([]Item, error)
	// UpdateAccount replaces it if the stored version is still prev
	// (qr.EConflict otherwise; qr.EAccountNotFound when it is gone).
	UpdateAccount(ctx context.Context, it Item, prev int64) error
	// DeleteAccount deletes it; deleting an absent account is not an error.
	DeleteAccount(ctx context.Context, appID string) error
	// RevokeAccount replaces it as UpdateAccount does and, in the same
	// transaction, deletes its access token: a revoked authorizer's token is
	// no longer the stack's to use.
	RevokeAccount(ctx context.Context, it Item, prev int64) error
}

// Sealer seals and opens the credential blobs (a *seal.KMS when deployed).
type Sealer interface {
	Seal(ctx context.Context, appID string, p seal.Purpose, plaintext []byte) ([]byte, error)
	Open(ctx context.Context, appID string, p seal.Purpose, sealed []byte) ([]byte, error)
}

// Checker proves an AppID and AppSecret with WeChat, by fetching a token.
type Checker interface {
	Check(ctx context.Context, appID, appSecret string) error
}

// CheckerFunc adapts a function to Checker.
type CheckerFunc func(ctx context.Context, appID, appSecret string) error

// Check calls f.
func (f CheckerFunc) Check(ctx context.Context, appID, appSecret string) error {
	return f(ctx, appID, appSecret)
}

// WeChatChecker proves credentials by fetching a stable token from WeChat's
// API at baseURL ("" for WeChat's own): it invalidates no token another holder
// of the AppSecret uses, as a classic token would. A refusal is WeChat's
// *wechat.APIError (40013, 40125, 40164).
func WeChatChecker(baseURL string) Checker {
	return CheckerFunc(func(ctx context.Context, appID, appSecret string) error {
		c, err := wechat.NewClient(baseURL, appID, appSecret)
		if err != nil {
			return err
		}
		_, err = c.StableToken(ctx, false)
		return err
	})
}

var appIDPattern = regexp.MustCompile(`^wx[0-9A-Za-z]{16}$`)

// ValidAppID reports whether s has an AppID's shape: "wx" and 16 letters or digits.
func ValidAppID(s string) bool { return appIDPattern.MatchString(s) }

// CheckAppID is ValidAppID as an error a caller can act on. It quotes the
// value only when it is short and printable: an AppID is no secret, but a
// path segment can be anything.
func CheckAppID(s string) error {
	if ValidAppID(s) {
		return nil
	}
	if len(s) <= 40 && isPrintable(s) {
		return qr.Errorf(qr.EInvalid, "appid %q is not an AppID: \"wx\" and 16 letters or digits, as the account's console shows it", s)
	}
	return qr.Errorf(qr.EInvalid, "appid is not an AppID: \"wx\" and 16 letters or digits, as the account's console shows it")
}

var (
	tokenPattern  = regexp.MustCompile(`^[0-9A-Za-z]{3,32}$`)
	secretPattern = regexp.MustCompile(`^[0-9A-Za-z]{32}$`)
)

// MaxNameLen bounds an account's display name, in characters.
const MaxNameLen = 64

func checkName(name string) error {
	switch n := utf8.RuneCountInString(name); {
	case strings.TrimSpace(name) == "":
		return qr.Errorf(qr.EInvalid, "name is required: what the console shows for the account")
	case n > MaxNameLen || !utf8.ValidString(name):
		return qr.Errorf(qr.EInvalid, "name is %d characters; at most %d", n, MaxNameLen)
	case !isPrintable(name):
		return qr.Errorf(qr.EInvalid, "name holds a control character")
	}
	return nil
}

func isPrintable(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) < 0
}

// The shape checks never quote the value: each is a credential.
func checkToken(field, v string) error {
	if !tokenPattern.MatchString(v) {
		return qr.Errorf(qr.EInvalid, "%s must be 3 to 32 letters or digits, as entered in the account's server configuration", field)
	}
	return nil
}

func checkAESKey(field, v string) error {
	if _, err := wechat.NewCipher(v, "wx0000000000000000"); err != nil {
		return qr.Errorf(qr.EInvalid, "%s must be 43 letters or digits, as the account's server configuration generates it", field)
	}
	return nil
}

func checkSecret(v string) error {
	if !secretPattern.MatchString(v) {
		return qr.Errorf(qr.EInvalid, "app_secret must be the account's AppSecret: 32 letters or digits")
	}
	return nil
}

// checkMode checks a message mode: WECHAT_MESSAGE_MODE's values, the same
// default (empty: safe when an EncodingAESKey is configured).
func checkMode(mode, aesKey string) error {
	switch mode {
	case "", "plaintext":
		return nil
	case "compatible", "safe":
		if aesKey == "" {
			return qr.Errorf(qr.EInvalid, "message_mode %q needs encoding_aes_key", mode)
		}
		return nil
	}
	if len(mode) > 20 || !isPrintable(mode) {
		return qr.Errorf(qr.EInvalid, "message_mode must be plaintext, compatible or safe")
	}
	return qr.Errorf(qr.EInvalid, "message_mode %q must be plaintext, compatible or safe", mode)
}

func sealJSON(ctx context.Context, s Sealer, appID string, p seal.Purpose, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("accounts: encode the %s blob of %s: %w", p, appID, err)
	}
	out, err := s.Seal(ctx, appID, p, b)
	if err != nil {
		return nil, fmt.Errorf("accounts: seal the %s blob of %s: %w", p, appID, err)
	}
	return out, nil
}

func openJSON(ctx context.Context, s Sealer, appID string, p seal.Purpose, blob []byte, v any) error {
	b, err := s.Open(ctx, appID, p, blob)
	if err != nil {
		return fmt.Errorf("accounts: open the %s blob of %s: %w", p, appID, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		// Not the JSON error's text: it can quote the plaintext.
		return fmt.Errorf("accounts: the %s blob of %s holds no JSON object", p, appID)
	}
	return nil
}
