package account

import (
	"context"
	"errors"

	"wechatqr/functions/internal/boot"
	"wechatqr/shared/accounts"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/platform"
	"wechatqr/shared/secrets"
	"wechatqr/shared/token"
	"wechatqr/shared/wechat"
)

// Platform builds the stack's third-party platform (docs/platform.md) from
// the environment: WECHAT_COMPONENT_APP_ID, its state and its
// component_access_token in the tokens table, its authorizers in reg. It
// returns nil, nil when WECHAT_COMPONENT_APP_ID is unset: the stack is not a
// platform, and nothing changes.
//
// secret is true for tokenrefresh alone, which holds the component_appsecret
// (WECHAT_COMPONENT_SECRET_ID's app_secret, or WECHAT_COMPONENT_APP_SECRET
// locally): it fetches the component_access_token and asks for tickets. The
// other functions only read that token from the table: a fetch of theirs,
// which would retire the token every other instance holds, is refused.
func Platform(env *boot.Env, reg *accounts.Registry, tokensTable string, secret bool) (*platform.Service, error) {
	appID := env.Getenv("WECHAT_COMPONENT_APP_ID")
	if appID == "" {
		return nil, nil
	}
	if reg == nil {
		return nil, errors.New("WECHAT_COMPONENT_APP_ID needs ACCOUNTS_TABLE: the platform's authorizers are accounts")
	}
	if tokensTable == "" {
		return nil, errors.New("WECHAT_COMPONENT_APP_ID needs TOKENS_TABLE: the platform's ticket and token are kept there")
	}
	cfg, err := token.ConfigFromEnv(env.Getenv)
	if err != nil {
		return nil, err
	}
	var opts []wechat.ClientOption
	if secret {
		live, err := boot.Secret(env, secrets.ComponentAppSecret, componentSecretFromEnv)
		if err != nil {
			return nil, err
		}
		opts = append(opts, wechat.WithSecretFunc(live.Get))
	}
	client, err := wechat.NewComponent(cfg.BaseURL, appID, opts...)
	if err != nil {
		return nil, err
	}
	state, err := dynamo.NewPlatform(env.DynamoDB(), tokensTable)
	if err != nil {
		return nil, err
	}
	store, err := dynamo.NewTokens(env.DynamoDB(), tokensTable, appID)
	if err != nil {
		return nil, err
	}
	issuer := token.IssuerFunc(func(context.Context, bool) (token.Issued, error) {
		return token.Issued{}, errors.New("only tokenrefresh fetches the component_access_token: none valid is in the tokens table (is tokenrefresh running? see its log)")
	})
	if secret {
		issuer = token.IssuerFunc(platform.ComponentIssuer(client, state).Issue)
	}
	return platform.New(platform.Config{
		Component: client, Accounts: reg, State: state,
		ComponentToken: token.NewSource(store, issuer, token.Options{}),
		AuthorizerTokens: func(appID string) (token.Store, error) {
			return dynamo.NewTokens(env.DynamoDB(), tokensTable, appID)
		},
		BaseURL: cfg.BaseURL,
		Log:     env.Log,
	})
}

// componentSecretFromEnv reads the component_appsecret. The error never holds
// a value.
func componentSecretFromEnv(getenv func(string) string) (string, error) {
	if s := getenv("WECHAT_COMPONENT_APP_SECRET"); s != "" {
		return s, nil
	}
	return "", errors.New("the component_appsecret is required: WECHAT_COMPONENT_SECRET_ID's app_secret, or WECHAT_COMPONENT_APP_SECRET locally")
}
