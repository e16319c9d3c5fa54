// Command callback is the Lambda behind GET and POST /wechat: the WeChat webhook.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"wechatqr/functions/internal/apigw"
	"wechatqr/shared/callback"
	"wechatqr/shared/dynamo"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	h, err := build(context.Background(), log)
	if err != nil {
		log.Error("init", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(apigw.Handler(h))
}

func build(ctx context.Context, log *slog.Logger) (*callback.Handler, error) {
	cfg, err := callback.ConfigFromEnv(os.Getenv)
	if err != nil {
		return nil, err
	}
	aws, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	store, err := dynamo.New(dynamodb.NewFromConfig(aws), dynamo.Tables{
		Scenes: os.Getenv("SCENES_TABLE"),
		Events: os.Getenv("EVENTS_TABLE"),
	})
	if err != nil {
		return nil, err
	}
	return callback.New(cfg, store, log)
}
