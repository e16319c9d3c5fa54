package accounts

import (
	"context"
	"fmt"
	"slices"
	"time"

	"wechatqr/shared/qr"
	"wechatqr/shared/seal"
)

// Registry is the stack's accounts: the default one, configured by the stack's
// parameters, and those in the Store. It is safe for concurrent use.
type Registry struct {
	store  Store
	sealer Sealer
	check  Checker
	def    Account
	now    func() time.Time
}

// Config is what a Registry is built from.
type Config struct {
	// Default is the default account: its AppID (WECHAT_APP_ID) at least; the
	// rest is filled in (kind direct, status active).
	Default Account
	Store   Store
	Sealer  Sealer
	// Checker proves new credentials; nil skips the check, for tests of the
	// registry's own rules only.
	Checker Checker
	Now     func() time.Time
}

// NewRegistry returns the registry of cfg.
func NewRegistry(cfg Config) (*Registry, error) {
	if cfg.Store == nil || cfg.Sealer == nil {
		return nil, fmt.Errorf("accounts: a store and a sealer are required (ACCOUNTS_TABLE, ACCOUNTS_KEY_ID)")
	}
	if !ValidAppID(cfg.Default.AppID) {
		return nil, fmt.Errorf("accounts: the default account's AppID (WECHAT_APP_ID) is not \"wx\" and 16 letters or digits")
	}
	def := cfg.Default
	def.Default, def.Kind, def.Status = true, Direct, Active
	if def.Name == "" {
		def.Name = def.AppID
	}
	if cfg.Checker == nil {
		cfg.Checker = CheckerFunc(func(context.Context, string, string) error { return nil })
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Registry{store: cfg.Store, sealer: cfg.Sealer, check: cfg.Checker, def: def, now: cfg.Now}, nil
}

// DefaultAppID is the default account's AppID.
func (r *Registry) DefaultAppID() string { return r.def.AppID }

// List returns every account, the default one first, then by AppID.
func (r *Registry) List(ctx context.Context) ([]Account, error) {
	items, err := r.store.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	out := []Account{r.def}
	for _, it := range items {
		if it.AppID != r.def.AppID {
			out = append(out, it.Account)
		}
	}
	slices.SortStableFunc(out[1:], func(a, b Account) int {
		switch {
		case a.AppID < b.AppID:
			return -1
		case a.AppID > b.AppID:
			return 1
		}
		return 0
	})
	return out, nil
}

// Get returns the account appID: qr.EInvalid for a malformed AppID,
// qr.EAccountNotFound for one the stack does not serve.
func (r *Registry) Get(ctx context.Context, appID string) (Account, error) {
	if err := CheckAppID(appID); err != nil {
		return Account{}, err
	}
	if appID == r.def.AppID {
		return r.def, nil
	}
	it, err := r.store.Account(ctx, appID)
	if err != nil {
		return Account{}, err
	}
	return it.Account, nil
}

// NewAccount is POST /accounts's body.
type NewAccount struct {
	AppID          string `json:"appid"`
	Name           string `json:"name"`
	AppSecret      string `json:"app_secret"`
	Token          string `json:"token"`
	EncodingAESKey string `json:"encoding_aes_key"`
	MessageMode    string `json:"message_mode"`
}

func (n NewAccount) check() error {
	if err := CheckAppID(n.AppID); err != nil {
		return err
	}
	if err := checkName(n.Name); err != nil {
		return err
	}
	if err := checkSecret(n.AppSecret); err != nil {
		return err
	}
	if err := checkToken("token", n.Token); err != nil {
		return err
	}
	if n.EncodingAESKey != "" {
		if err := checkAESKey("encoding_aes_key", n.EncodingAESKey); err != nil {
			return err
		}
	}
	return checkMode(n.MessageMode, n.EncodingAESKey)
}

// Create adds a direct account. It checks the request, refuses an AppID the
// stack serves (qr.EConflict), proves the AppSecret with WeChat (its refusal
// is returned as WeChat gave it), and only then stores the account.
func (r *Registry) Create(ctx context.Context, n NewAccount) (Account, error) {
	if err := n.check(); err != nil {
		return Account{}, err
	}
	if n.AppID == r.def.AppID {
		return Account{}, qr.Errorf(qr.EConflict, "%s is the stack's default account", n.AppID)
	}
	switch _, err := r.store.Account(ctx, n.AppID); qr.ErrorCode(err) {
	case "":
		return Account{}, qr.Errorf(qr.EConflict, "account %s exists; change it with PATCH /accounts/%s", n.AppID, n.AppID)
	case qr.EAccountNotFound:
	default:
		return Account{}, err
	}
	if err := r.check.Check(ctx, n.AppID, n.AppSecret); err != nil {
		return Account{}, err
	}
	it := Item{Account: Account{
		AppID: n.AppID, Name: n.Name, Kind: Direct, Status: Active,
		MessageMode: n.MessageMode, CreatedAt: r.now().UTC().Truncate(time.Second),
	}, Version: 1}
	var err error
	if it.SealedCallback, err = sealJSON(ctx, r.sealer, n.AppID, seal.Callback, CallbackKeys{Token: n.Token, EncodingAESKey: n.EncodingAESKey}); err != nil {
		return Account{}, err
	}
	if it.SealedAppSecret, err = sealJSON(ctx, r.sealer, n.AppID, seal.AppSecret, appSecret{n.AppSecret}); err != nil {
		return Account{}, err
	}
	if err := r.store.CreateAccount(ctx, it); err != nil {
		return Account{}, err
	}
	return it.Account, nil
}

// appSecret is the AppSecret's blob.
type appSecret struct {
	AppSecret string `json:"app_secret"`
}

// Patch is PATCH /accounts/{appid}'s body: the fields to change.
type Patch struct {
	Name           *string `json:"name"`
	AppSecret      *string `json:"app_secret"`
	Token          *string `json:"token"`
	EncodingAESKey *string `json:"encoding_aes_key"`
	MessageMode    *string `json:"message_mode"`
}

// Update changes a direct account. A new Token or EncodingAESKey keeps the one
// before as previous, still accepted, as the default account's rotation does
// (docs/operations.md, "Rotating the Token and key"); sending the current
// value again ends the rotation, clearing previous. A new AppSecret is proven
// with WeChat first. A concurrent change makes it qr.EConflict: read and retry.
func (r *Registry) Update(ctx context.Context, appID string, p Patch) (Account, error) {
	if err := CheckAppID(appID); err != nil {
		return Account{}, err
	}
	if appID == r.def.AppID {
		return Account{}, qr.Errorf(qr.EConflict, "%s is the stack's default account: its settings are the stack's parameters (docs/operations.md)", appID)
	}
	it, err := r.store.Account(ctx, appID)
	if err != nil {
		return Account{}, err
	}
	if it.Kind != Direct {
		return Account{}, qr.Errorf(qr.EConflict, "account %s is an authorizer: its credentials are the platform's", appID)
	}
	if p.Name != nil {
		if err := checkName(*p.Name); err != nil {
			return Account{}, err
		}
		it.Name = *p.Name
	}
	if p.Token != nil || p.EncodingAESKey != nil || p.MessageMode != nil {
		var keys CallbackKeys
		if err := openJSON(ctx, r.sealer, appID, seal.Callback, it.SealedCallback, &keys); err != nil {
			return Account{}, err
		}
		if p.Token != nil {
			if err := checkToken("token", *p.Token); err != nil {
				return Account{}, err
			}
			keys.Token, keys.PreviousToken = rotate(keys.Token, *p.Token)
		}
		if p.EncodingAESKey != nil {
			if *p.EncodingAESKey != "" {
				if err := checkAESKey("encoding_aes_key", *p.EncodingAESKey); err != nil {
					return Account{}, err
				}
			}
			keys.EncodingAESKey, keys.PreviousEncodingAESKey = rotate(keys.EncodingAESKey, *p.EncodingAESKey)
		}
		if p.MessageMode != nil {
			it.MessageMode = *p.MessageMode
		}
		if err := checkMode(it.MessageMode, keys.EncodingAESKey); err != nil {
			return Account{}, err
		}
		if it.SealedCallback, err = sealJSON(ctx, r.sealer, appID, seal.Callback, keys); err != nil {
			return Account{}, err
		}
	}
	if p.AppSecret != nil {
		if err := checkSecret(*p.AppSecret); err != nil {
			return Account{}, err
		}
		if err := r.check.Check(ctx, appID, *p.AppSecret); err != nil {
			return Account{}, err
		}
		if it.SealedAppSecret, err = sealJSON(ctx, r.sealer, appID, seal.AppSecret, appSecret{*p.AppSecret}); err != nil {
			return Account{}, err
		}
	}
	prev := it.Version
	it.Version++
	if err := r.store.UpdateAccount(ctx, it, prev); err != nil {
		return Account{}, err
	}
	return it.Account, nil
}

// rotate is a value's change: the new one current, the old one previous; the
// same value again ends a rotation.
func rotate(old, next string) (current, previous string) {
	if next == old {
		return next, ""
	}
	return next, old
}

// Delete stops serving a direct account: its item, with its credentials, and
// its token go (the store deletes both). The default account cannot be
// deleted.
func (r *Registry) Delete(ctx context.Context, appID string) error {
	if err := CheckAppID(appID); err != nil {
		return err
	}
	if appID == r.def.AppID {
		return qr.Errorf(qr.EConflict, "%s is the stack's default account: it is removed with the stack", appID)
	}
	if _, err := r.store.Account(ctx, appID); err != nil {
		return err
	}
	return r.store.DeleteAccount(ctx, appID)
}

// Callback returns what the callback needs of a stored account: the account,
// its version, and its callback keys (only that blob is opened), or nil keys
// when the stored version is still known: a caller that re-reads an account
// to notice a change or a removal pays a read, not a KMS call. The default
// account's keys are the callback's secret, not the registry's: asking for them
// is an error.
//
// An authorizer has no keys of its own: its pushes are signed and sealed with
// the platform's (docs/wechat.md §13.2), which are the callback's secret
// like the default account's. For one the keys are always nil and the
// account's Kind, Authorizer, tells the caller to verify with the platform's.
func (r *Registry) Callback(ctx context.Context, appID string, known int64) (Account, *CallbackKeys, int64, error) {
	if appID == r.def.AppID {
		return Account{}, nil, 0, fmt.Errorf("accounts: the default account's keys are the callback's secret")
	}
	it, err := r.store.Account(ctx, appID)
	if err != nil {
		return Account{}, nil, 0, err
	}
	if it.Kind == Authorizer || (known != 0 && it.Version == known) {
		return it.Account, nil, it.Version, nil
	}
	var keys CallbackKeys
	if err := openJSON(ctx, r.sealer, appID, seal.Callback, it.SealedCallback, &keys); err != nil {
		return Account{}, nil, 0, err
	}
	return it.Account, &keys, it.Version, nil
}

// AppSecret returns a stored account's AppSecret (only that blob is opened).
func (r *Registry) AppSecret(ctx context.Context, appID string) (string, error) {
	if appID == r.def.AppID {
		return "", fmt.Errorf("accounts: the default account's AppSecret is the stack's secret")
	}
	it, err := r.store.Account(ctx, appID)
	if err != nil {
		return "", err
	}
	if it.Kind == Authorizer {
		return "", qr.Errorf(qr.EConflict, "account %s is an authorizer: its tokens come from the platform, with its refresh token", appID)
	}
	var s appSecret
	if err := openJSON(ctx, r.sealer, appID, seal.AppSecret, it.SealedAppSecret, &s); err != nil {
		return "", err
	}
	if s.AppSecret == "" {
		return "", fmt.Errorf("accounts: the AppSecret blob of %s is empty", appID)
	}
	return s.AppSecret, nil
}
