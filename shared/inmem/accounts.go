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
// conflicts. It is safe for concurrent use.
type Accounts struct {
	mu    sync.Mutex
	items map[string]accounts.Item
}

var _ accounts.Store = (*Accounts)(nil)

// NewAccounts returns an empty store.
func NewAccounts() *Accounts { return &Accounts{items: map[string]accounts.Item{}} }

func clone(it accounts.Item) accounts.Item {
	it.SealedCallback = slices.Clone(it.SealedCallback)
	it.SealedAppSecret = slices.Clone(it.SealedAppSecret)
	return it
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
	return nil
}
