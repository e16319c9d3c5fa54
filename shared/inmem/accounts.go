package inmem

import (
	"context"
	"slices"
	"strings"
	"sync"

	"wechatqr/shared/accounts"
	"wechatqr/shared/qr"
)

// Accounts is an in-memory accounts.Store with the DynamoDB one's conditions:
// a create of an existing AppID and an update over a changed version are
// conflicts. It also stands for the tokens table as far as the accounts touch
// it: whether an account has a token item (PutToken, HasToken), which
// DeleteAccount and RevokeAccount delete. It is safe for concurrent use.
type Accounts struct {
	mu     sync.Mutex
	items  map[string]accounts.Item
	tokens map[string]bool
}

var _ accounts.Store = (*Accounts)(nil)

// NewAccounts returns an empty store.
func NewAccounts() *Accounts {
	return &Accounts{items: map[string]accounts.Item{}, tokens: map[string]bool{}}
}

// clone copies what the caller could change through it: a store hands out and
// keeps copies, as a database does.
func clone(it accounts.Item) accounts.Item {
	it.SealedCallback = slices.Clone(it.SealedCallback)
	it.SealedAppSecret = slices.Clone(it.SealedAppSecret)
	it.SealedRefreshToken = slices.Clone(it.SealedRefreshToken)
	it.Permissions = slices.Clone(it.Permissions)
	it.MissingPermissions = slices.Clone(it.MissingPermissions)
	for _, p := range []**int{&it.ServiceType, &it.VerifyType} {
		if *p != nil {
			v := **p
			*p = &v
		}
	}
	return it
}

// PutToken records that appID has an access token item, as tokenrefresh
// writes one.
func (a *Accounts) PutToken(appID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tokens[appID] = true
}

// HasToken reports whether appID has an access token item.
func (a *Accounts) HasToken(appID string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.tokens[appID]
}

// CreateAccount stores it unless the AppID is there.
func (a *Accounts) CreateAccount(_ context.Context, it accounts.Item) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.items[it.AppID]; ok {
		return qr.Errorf(qr.EConflict, "account %s exists", it.AppID)
	}
	a.items[it.AppID] = clone(it)
	return nil
}

// Account returns one.
func (a *Accounts) Account(_ context.Context, appID string) (accounts.Item, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	it, ok := a.items[appID]
	if !ok {
		return accounts.Item{}, qr.Errorf(qr.EAccountNotFound, "no account %s in this stack", appID)
	}
	return clone(it), nil
}

// Accounts lists them by AppID.
func (a *Accounts) Accounts(context.Context) ([]accounts.Item, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]accounts.Item, 0, len(a.items))
	for _, it := range a.items {
		out = append(out, clone(it))
	}
	slices.SortFunc(out, func(x, y accounts.Item) int { return strings.Compare(x.AppID, y.AppID) })
	return out, nil
}

// UpdateAccount replaces it if the stored version is still prev.
func (a *Accounts) UpdateAccount(_ context.Context, it accounts.Item, prev int64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.update(it, prev)
}

// RevokeAccount replaces it if the stored version is still prev, and deletes
// its token with it.
func (a *Accounts) RevokeAccount(_ context.Context, it accounts.Item, prev int64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.update(it, prev); err != nil {
		return err
	}
	delete(a.tokens, it.AppID)
	return nil
}

func (a *Accounts) update(it accounts.Item, prev int64) error {
	cur, ok := a.items[it.AppID]
	switch {
	case !ok:
		return qr.Errorf(qr.EAccountNotFound, "no account %s in this stack", it.AppID)
	case cur.Version != prev:
		return qr.Errorf(qr.EConflict, "account %s changed since it was read; read it and try again", it.AppID)
	}
	a.items[it.AppID] = clone(it)
	return nil
}

// DeleteAccount deletes it.
func (a *Accounts) DeleteAccount(_ context.Context, appID string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.items, appID)
	delete(a.tokens, appID)
	return nil
}
