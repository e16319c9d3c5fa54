package token

import (
	"context"
	"fmt"
	"time"

	"wechatqr/shared/wechat"
)

// Kinds of token, as WECHAT_TOKEN_KIND names them.
const (
	// KindStable uses /cgi-bin/stable_token: a call returns the current token while
	// it has more than five minutes left, so other holders are never invalidated.
	KindStable = "stable"
	// KindClassic uses /cgi-bin/token: every call issues a new token and kills the
	// previous one five minutes later.
	KindClassic = "classic"
)

// WeChat is the part of the WeChat client an Issuer needs.
type WeChat interface {
	Token(ctx context.Context) (wechat.AccessToken, error)
	StableToken(ctx context.Context, forceRefresh bool) (wechat.AccessToken, error)
}

// NewIssuer returns the Issuer of kind ("" means stable) over c.
func NewIssuer(c WeChat, kind string) (Issuer, error) {
	convert := func(t wechat.AccessToken, err error) (Issued, error) {
		if err != nil {
			return Issued{}, err
		}
		return Issued{Token: t.AccessToken, ExpiresIn: time.Duration(t.ExpiresIn) * time.Second}, nil
	}
	switch kind {
	case "", KindStable:
		return IssuerFunc(func(ctx context.Context, force bool) (Issued, error) {
			return convert(c.StableToken(ctx, force))
		}), nil
	case KindClassic:
		return IssuerFunc(func(ctx context.Context, _ bool) (Issued, error) {
			return convert(c.Token(ctx))
		}), nil
	}
	return nil, fmt.Errorf("token: kind %q is not %q or %q", kind, KindStable, KindClassic)
}
