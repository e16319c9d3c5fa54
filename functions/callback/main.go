// Command callback is the Lambda behind GET and POST /wechat: the WeChat webhook.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"wechatqr/functions/apigw"
	"wechatqr/functions/internal/boot"
	"wechatqr/shared/callback"
	"wechatqr/shared/dynamo"
)

func main() {
	env, err := boot.Load(context.Background())
	if err != nil {
		boot.Fail(nil, err)
	}
	h, err := build(env)
	if err != nil {
		boot.Fail(env.Log, err)
	}
	lambda.Start(apigw.Handler(h))
}

func build(env *boot.Env) (*callback.Handler, error) {
	cfg, err := callback.ConfigFromEnv(env.Getenv)
	if err != nil {
		return nil, err
	}
	store, err := dynamo.New(dynamodb.NewFromConfig(env.AWS), dynamo.Tables{
		Scenes: env.Getenv("SCENES_TABLE"),
		Events: env.Getenv("EVENTS_TABLE"),
	})
	if err != nil {
		return nil, err
	}
	return callback.New(cfg, store, env.Log)
}
