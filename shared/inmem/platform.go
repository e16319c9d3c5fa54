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
	claimed time.Time // the last claim of api_start_push_ticket
	now     func() time.Time
}

var _ accounts.Platform = (*Platform)(nil)

// NewPlatform returns a platform with no ticket and no claim.
func NewPlatform() *Platform { return &Platform{now: time.Now} }

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
