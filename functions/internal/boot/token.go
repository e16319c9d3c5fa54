package boot

import (
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"wechatqr/shared/dynamo"
	"wechatqr/shared/token"
	"wechatqr/shared/wechat"
)

// TokenSource builds the WeChat client and the account's token source from
// WECHAT_APP_ID, WECHAT_APP_SECRET, WECHAT_API_BASE_URL, WECHAT_TOKEN_KIND and
// TOKENS_TABLE. Every function that calls WeChat gets its token from it.
func (e *Env) TokenSource() (*token.Source, *wechat.Client, error) {
	appID, secret := e.Getenv("WECHAT_APP_ID"), e.Getenv("WECHAT_APP_SECRET")
	if appID == "" || secret == "" {
		return nil, nil, fmt.Errorf("WECHAT_APP_ID and the AppSecret (WECHAT_SECRET_ID's app_secret, or WECHAT_APP_SECRET locally) are required")
	}
	client, err := wechat.NewClient(e.Getenv("WECHAT_API_BASE_URL"), appID, secret)
	if err != nil {
		return nil, nil, err
	}
	issuer, err := token.NewIssuer(client, e.Getenv("WECHAT_TOKEN_KIND"))
	if err != nil {
		return nil, nil, fmt.Errorf("WECHAT_TOKEN_KIND: %w", err)
	}
	store, err := dynamo.NewTokens(dynamodb.NewFromConfig(e.AWS), e.Getenv("TOKENS_TABLE"), appID)
	if err != nil {
		return nil, nil, err
	}
	return token.NewSource(store, issuer, token.Options{}), client, nil
}
