package token

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"wechatqr/shared/wechat"
)

// Failures keeps why an account's last fetch failed, for the Accounts page (a
// *dynamo.Tokens).
type Failures interface {
	RecordFailure(ctx context.Context, reason string, at time.Time) error
}

// Account is one account's token, as RefreshAll refreshes it.
type Account struct {
	AppID   string
	Default bool
	Source  *Source
	Health  Failures
}

// AllOptions tune RefreshAll; zero fields take the defaults below.
type AllOptions struct {
	// Concurrency bounds how many accounts are refreshed at once.
	Concurrency int
	// Timeout bounds one account's refresh, so that a WeChat call that hangs for
	// one account delays no other beyond its own slot.
	Timeout time.Duration
	Log     *slog.Logger
	Now     func() time.Time
}

// Defaults for AllOptions.
const (
	DefaultConcurrency = 16
	DefaultTimeout     = 10 * time.Second
)

// Summary is what one RefreshAll did.
type Summary struct {
	Accounts, Refreshed, Failed int
	// DefaultErr is the default account's failure, nil when it has none.
	DefaultErr error
}

// RefreshAll refreshes every account that is due (Source.Refresh: no WeChat
// call for a token with time left), at most Concurrency at a time. One
// account's failure (a revoked AppSecret, 40125; an IP not whitelisted, 40164;
// WeChat down) is logged with its AppID, kept on its token item for the
// Accounts page, and counted; it delays no other account.
func RefreshAll(ctx context.Context, accts []Account, opts AllOptions) Summary {
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var (
		mu  sync.Mutex
		sum = Summary{Accounts: len(accts)}
		wg  sync.WaitGroup
		sem = make(chan struct{}, opts.Concurrency)
	)
	for _, a := range accts {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			actx, cancel := context.WithTimeout(ctx, opts.Timeout)
			defer cancel()
			refreshed, err := a.Source.Refresh(actx)
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				if refreshed {
					sum.Refreshed++
				}
				return
			}
			sum.Failed++
			if a.Default {
				sum.DefaultErr = err
			}
			reason := Reason(err)
			opts.Log.LogAttrs(ctx, slog.LevelError, "token refresh failed", slog.String("appid", a.AppID), slog.String("reason", reason), slog.String("error", err.Error()))
			if a.Health != nil {
				if herr := a.Health.RecordFailure(ctx, reason, opts.Now()); herr != nil {
					opts.Log.LogAttrs(ctx, slog.LevelError, "token refresh: recording the failure", slog.String("appid", a.AppID), slog.String("error", herr.Error()))
				}
			}
		})
	}
	wg.Wait()
	return sum
}

// Reason says why a fetch failed in words for the Accounts page: WeChat's
// errcode and errmsg when it refused (the client never puts a secret in
// them), else the kind of failure only.
func Reason(err error) string {
	var api *wechat.APIError
	switch {
	case errors.As(err, &api):
		return api.Error()
	case errors.Is(err, context.DeadlineExceeded):
		return "WeChat did not answer in time"
	case errors.Is(err, ErrUnavailable):
		return "another instance holds the lease and stored no token"
	}
	return "the token could not be fetched or stored (see the function's log)"
}
