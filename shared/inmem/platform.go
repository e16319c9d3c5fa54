package inmem

import (
	"context"
	"sync"
	"time"

	"wechatqr/shared/accounts"
	"wechatqr/shared/qr"
)

// Platform is an in-memory accounts.Platform with the DynamoDB one's
// conditions. It is safe for concurrent use.
type Platform struct {
	mu      sync.Mutex
	ticket  accounts.Ticket
	claimed time.Time         // the last claim of api_start_push_ticket
	codes   map[string]string // claimed authorization codes and the account each made
	now     func() time.Time
}

var _ accounts.Platform = (*Platform)(nil)

// NewPlatform returns a platform with no ticket and no claim.
func NewPlatform() *Platform { return &Platform{codes: map[string]string{}, now: time.Now} }

// PutTicket stores ticket unless the stored one is as new.
func (p *Platform) PutTicket(_ context.Context, ticket string, created time.Time) (bool, error) {
	if ticket == "" {
		return false, qr.Errorf(qr.EInvalid, "an empty component_verify_ticket")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	// Whole seconds, as CreateTime is and as DynamoDB keeps it.
	created = created.Truncate(time.Second)
	if p.ticket.Value != "" && !p.ticket.Created.Before(created) {
		return false, nil
	}
	p.ticket = accounts.Ticket{Value: ticket, Created: created.UTC(), Received: p.now().UTC().Truncate(time.Second)}
	return true, nil
}

// Ticket returns the stored ticket.
func (p *Platform) Ticket(context.Context) (accounts.Ticket, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ticket, nil
}

// ClaimStartPushTicket claims the call if the last claim is every old.
func (p *Platform) ClaimStartPushTicket(_ context.Context, now time.Time, every time.Duration) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now = now.Truncate(time.Millisecond)
	if !p.claimed.IsZero() && p.claimed.After(now.Add(-every)) {
		return false, nil
	}
	p.claimed = now
	return true, nil
}

// ClaimAuthCode claims code once. The claims are kept for the Platform's
// life: nothing in memory outlives a code's hour for long.
func (p *Platform) ClaimAuthCode(_ context.Context, code string, _ time.Time) (bool, error) {
	if code == "" {
		return false, qr.Errorf(qr.EInvalid, "an empty authorization code")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.codes[code]; ok {
		return false, nil
	}
	p.codes[code] = ""
	return true, nil
}

// AuthCodeRedeemed notes appID on code's claim.
func (p *Platform) AuthCodeRedeemed(_ context.Context, code, appID string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.codes[code]; !ok {
		return qr.Errorf(qr.ENotFound, "no claim of that authorization code")
	}
	p.codes[code] = appID
	return nil
}

// AuthCodeAccount returns the account noted on code's claim.
func (p *Platform) AuthCodeAccount(_ context.Context, code string) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.codes[code], nil
}

// ReleaseAuthCode forgets code's claim unless it was redeemed.
func (p *Platform) ReleaseAuthCode(_ context.Context, code string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if appID, ok := p.codes[code]; ok && appID == "" {
		delete(p.codes, code)
	}
	return nil
}
