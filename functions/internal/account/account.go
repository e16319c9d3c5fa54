// Package account wires what the functions that call WeChat (qrcode,
// scanactions, tokenrefresh) share: the account's WeChat client and its access
// token, kept in the tokens table. Each owning package reads its own
// configuration (token.ConfigFromEnv, dynamo.ConfigFromEnv); this only puts the
// parts together, once for the three.
package account

import (
	"wechatqr/functions/internal/boot"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/secrets"
	"wechatqr/shared/token"
	"wechatqr/shared/wechat"
)

// Tokens builds the WeChat client and the account's token source over the
// tokens table named table. The AppSecret comes from the AppSecret's secret
// (boot.Secret, secrets.AppSecret: WECHAT_SECRET_ID) and is asked for at each token call, so a rotated one is used
// once the secret is re-read; most invocations never need it (the token comes
// from the table).
func Tokens(env *boot.Env, table string) (*token.Source, *wechat.Client, error) {
	cfg, err := token.ConfigFromEnv(env.Getenv)
	if err != nil {
		return nil, nil, err
	}
	secret, err := boot.Secret(env, secrets.AppSecret, token.AppSecretFromEnv)
	if err != nil {
		return nil, nil, err
	}
	client, err := wechat.NewClient(cfg.BaseURL, cfg.AppID, "", wechat.WithSecretFunc(secret.Get))
	if err != nil {
		return nil, nil, err
	}
	issuer, err := token.NewIssuer(client, cfg.Kind)
	if err != nil {
		return nil, nil, err
	}
	store, err := dynamo.NewTokens(env.DynamoDB(), table, cfg.AppID)
	if err != nil {
		return nil, nil, err
	}
	return token.NewSource(store, issuer, token.Options{}), client, nil
}
