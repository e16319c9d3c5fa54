package account

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"wechatqr/functions/internal/boot"
	"wechatqr/shared/accounts"
	"wechatqr/shared/consoleauth"
	"wechatqr/shared/dynamo"
	"wechatqr/shared/platform"
	"wechatqr/shared/seal"
	"wechatqr/shared/token"
	"wechatqr/shared/wechat"
)

// Registry builds the stack's accounts from the environment: ACCOUNTS_TABLE,
// the KMS key that seals their credentials (ACCOUNTS_KEY_ID), and the default
// account's AppID and name (WECHAT_APP_ID, WECHAT_ACCOUNT_NAME). tokens is the
// tokens table, for the functions that delete an account's token with it (""
// elsewhere). It returns nil, nil when ACCOUNTS_TABLE is unset: the function
// then serves the default account alone, as a single-account release did.
func Registry(env *boot.Env, tokens string) (*accounts.Registry, error) {
	table := env.Getenv("ACCOUNTS_TABLE")
	if table == "" {
		return nil, nil
	}
	sealer, err := sealer(env)
	if err != nil {
		return nil, err
	}
	store, err := dynamo.NewAccounts(env.DynamoDB(), table, tokens)
	if err != nil {
		return nil, err
	}
	cfg, err := token.ConfigFromEnv(env.Getenv)
	if err != nil {
		return nil, err
	}
	return accounts.NewRegistry(accounts.Config{
		Default: accounts.Account{AppID: cfg.AppID, Name: env.Getenv("WECHAT_ACCOUNT_NAME")},
		Store:   store, Sealer: sealer,
		Checker: accounts.WeChatChecker(cfg.BaseURL),
	})
}

// sealer is the KMS key ACCOUNTS_KEY_ID names; the local stack, which has no
// KMS, sets WECHATQR_LOCAL=1 and ACCOUNTS_LOCAL_KEY (64 hex digits) instead, as
// it sets plain variables for the secrets (docs/operations.md, "The local flag").
func sealer(env *boot.Env) (accounts.Sealer, error) {
	if keyID := env.Getenv("ACCOUNTS_KEY_ID"); keyID != "" {
		return seal.NewKMS(kms.NewFromConfig(env.AWS), keyID)
	}
	local := env.Getenv("ACCOUNTS_LOCAL_KEY")
	if local == "" || env.Getenv(consoleauth.EnvLocal) != "1" {
		return nil, fmt.Errorf("ACCOUNTS_KEY_ID is required with ACCOUNTS_TABLE: the KMS key that seals the accounts' credentials")
	}
	key, err := hex.DecodeString(local)
	if err != nil {
		return nil, fmt.Errorf("ACCOUNTS_LOCAL_KEY is not 64 hex digits")
	}
	return seal.NewLocal(key)
}

// TokensOf builds the WeChat client and token source of a stored account:
// its own token item in the tokens table (one writer per account, as for the
// default one). A direct account's token comes from its AppSecret, opened
// from the registry at each token call only (most calls take the token from
// the table), so a changed AppSecret is used at once. An authorizer's comes
// from the platform plat (api_authorizer_token with its refresh token); plat
// is nil when the stack is not a platform, and an authorizer is then an
// error.
func TokensOf(env *boot.Env, reg *accounts.Registry, plat *platform.Service, table string, a accounts.Account) (*token.Source, *wechat.Client, error) {
	cfg, err := token.ConfigFromEnv(env.Getenv)
	if err != nil {
		return nil, nil, err
	}
	store, err := dynamo.NewTokens(env.DynamoDB(), table, a.AppID)
	if err != nil {
		return nil, nil, err
	}
	if a.Kind == accounts.Authorizer {
		if plat == nil {
			return nil, nil, fmt.Errorf("account %s is an authorizer, but WECHAT_COMPONENT_APP_ID is unset: the stack is not the platform it authorized", a.AppID)
		}
		// No AppSecret: the client only ever calls with the token.
		client, err := wechat.NewClient(cfg.BaseURL, a.AppID, "")
		if err != nil {
			return nil, nil, err
		}
		return token.NewSource(store, plat.AuthorizerIssuer(a.AppID), token.Options{}), client, nil
	}
	appID := a.AppID
	client, err := wechat.NewClient(cfg.BaseURL, appID, "", wechat.WithSecretFunc(func(ctx context.Context) (string, error) {
		return reg.AppSecret(ctx, appID)
	}))
	if err != nil {
		return nil, nil, err
	}
	issuer, err := token.NewIssuer(client, cfg.Kind)
	if err != nil {
		return nil, nil, err
	}
	return token.NewSource(store, issuer, token.Options{}), client, nil
}
