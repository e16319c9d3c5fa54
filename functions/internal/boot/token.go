package boot

import (
	"errors"
	"fmt"

	"wechatqr/shared/dynamo"
	"wechatqr/shared/token"
	"wechatqr/shared/wechat"
)

// TokenSource builds the WeChat client and the account's token source from
// WECHAT_APP_ID, the AppSecret (the secret's app_secret, or WECHAT_APP_SECRET
// locally), WECHAT_API_BASE_URL, WECHAT_TOKEN_KIND and TOKENS_TABLE. Every
// function that calls WeChat gets its token from it. The AppSecret is asked for
// at each token call, so a rotated one is used once the secret is re-read; most
// invocations never need it (the token comes from the table).
func (e *Env) TokenSource() (*token.Source, *wechat.Client, error) {
	appID := e.Getenv("WECHAT_APP_ID")
	if appID == "" {
		return nil, nil, errors.New("WECHAT_APP_ID is required")
	}
	secret, err := Secret(e, func(getenv func(string) string) (string, error) {
		if s := getenv("WECHAT_APP_SECRET"); s != "" {
			return s, nil
		}
		return "", errors.New("the AppSecret is required: WECHAT_SECRET_ID's app_secret, or WECHAT_APP_SECRET locally")
	})
	if err != nil {
		return nil, nil, err
	}
	client, err := wechat.NewClient(e.Getenv("WECHAT_API_BASE_URL"), appID, "", wechat.WithSecretFunc(secret.Get))
	if err != nil {
		return nil, nil, err
	}
	issuer, err := token.NewIssuer(client, e.Getenv("WECHAT_TOKEN_KIND"))
	if err != nil {
		return nil, nil, fmt.Errorf("WECHAT_TOKEN_KIND: %w", err)
	}
	store, err := dynamo.NewTokens(e.DynamoDB(), e.Getenv("TOKENS_TABLE"), appID)
	if err != nil {
		return nil, nil, err
	}
	return token.NewSource(store, issuer, token.Options{}), client, nil
}
