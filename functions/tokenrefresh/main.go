// Command tokenrefresh is the scheduled Lambda that keeps the account's access
// token fresh in the tokens table, so that no other function races WeChat for one.
package main

import (
	"context"
	"log/slog"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"wechatqr/functions/internal/account"
	"wechatqr/functions/internal/boot"
	"wechatqr/shared/dynamo"
)

func main() {
	env, err := boot.Load(context.Background())
	if err != nil {
		boot.Fail(nil, err)
	}
	tables, _, err := dynamo.ConfigFromEnv(env.Getenv)
	if err != nil {
		boot.Fail(env.Log, err)
	}
	src, _, err := account.Tokens(env, tables.Tokens)
	if err != nil {
		boot.Fail(env.Log, err)
	}
	lambda.Start(func(ctx context.Context, _ events.EventBridgeEvent) error {
		refreshed, err := src.Refresh(ctx)
		if err != nil {
			// Returned, so the invocation fails and the template's alarm fires.
			env.Log.Error("token refresh", slog.String("error", err.Error()))
			return err
		}
		env.Log.Info("token refresh", slog.Bool("refreshed", refreshed))
		return nil
	})
}
