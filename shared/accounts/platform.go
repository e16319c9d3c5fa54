package accounts

import (
	"context"
	"time"
)

// Ticket is the newest component_verify_ticket the platform pushed
// (docs/wechat.md §13): its value, its CreateTime, and when the stack
// stored it. WeChat pushes one every 10 minutes, each valid 12 hours.
type Ticket struct {
	Value    string
	Created  time.Time
	Received time.Time
}

// Platform keeps the third-party platform's own state, which belongs to no
// account (package dynamo's Platform, in the tokens table). The platform's
// component_access_token is an access token like an account's, kept by
// package dynamo's Tokens under the component AppID.
type Platform interface {
	// PutTicket stores ticket, pushed with CreateTime created, unless the
	// stored one was created at or after it: pushes arrive out of order and
	// again, and an older ticket must never replace a newer one. It reports
	// whether it stored it.
	PutTicket(ctx context.Context, ticket string, created time.Time) (stored bool, err error)
	// Ticket returns the stored ticket, the zero Ticket when there is none.
	Ticket(ctx context.Context) (Ticket, error)
	// ClaimStartPushTicket gives the caller the right to call
	// api_start_push_ticket at now, if no one claimed it in the every before:
	// true for at most one caller per every.
	ClaimStartPushTicket(ctx context.Context, now time.Time, every time.Duration) (bool, error)
	// ClaimAuthCode gives the caller the right to redeem an authorization
	// code (api_query_auth): true for one caller per code. An authorization
	// arrives as a push and through the administrator's redirect at once;
	// redeemed twice, it would issue the account two tokens, the second
	// retiring the first. The claim may go at until (the code's expiry).
	ClaimAuthCode(ctx context.Context, code string, until time.Time) (bool, error)
	// AuthCodeRedeemed notes on code's claim the account it made, for the
	// callers that lost the claim.
	AuthCodeRedeemed(ctx context.Context, code, appID string) error
	// AuthCodeAccount returns the account code made; "" while its redeemer
	// has not finished (or failed).
	AuthCodeAccount(ctx context.Context, code string) (string, error)
	// ReleaseAuthCode gives up the claim of a code whose redemption failed,
	// unless it was redeemed: WeChat's retry of the push, or the redirect,
	// may then claim it again. Releasing an absent claim is not an error.
	ReleaseAuthCode(ctx context.Context, code string) error
}
