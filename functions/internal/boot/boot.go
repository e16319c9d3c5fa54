// Package boot is the cold-start wiring every function shares: the JSON logger,
// the AWS configuration, and the function's secret (the callback's or the
// AppSecret's), read in the background and re-read on warm instances. It runs
// once per instance, at init.
package boot

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"wechatqr/shared/secrets"
)

// Env is what a function builds its dependencies from.
type Env struct {
	AWS aws.Config
	// Getenv is os.Getenv: the plain configuration. The secrets' values (the
	// AppSecret, the Token, the EncodingAESKey) come through Secret.
	Getenv func(string) string
	Log    *slog.Logger

	sm      secrets.API // nil when no secret is named
	refresh time.Duration
	ddb     *dynamodb.Client // DynamoDB's, built at its first use
}

// Load builds the logger and the AWS configuration. It makes no network call:
// the secret is read by Secret, in the background.
//
// The configuration is the SDK's default chain (config.LoadDefaultConfig): on
// Lambda, AWS_REGION and the role's credentials from the environment; locally,
// also AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_<SERVICE> (DYNAMODB,
// SECRETS_MANAGER, EVENTBRIDGE, SSM), which point the clients at DynamoDB
// Local and moto_server. Without credentials (sam local invoke on a machine
// with none) it still succeeds: what needs no AWS call works, and a call fails
// with the SDK's own error about credentials.
func Load(ctx context.Context) (*Env, error) {
	getenv := os.Getenv // the one read of the process's environment: Env.Getenv
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("the AWS configuration: %w", err)
	}
	refresh := secrets.DefaultRefresh
	if v := getenv("WECHAT_SECRET_REFRESH_SECONDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("WECHAT_SECRET_REFRESH_SECONDS: %q is not a whole number of seconds (0 turns re-reading off)", v)
		}
		refresh = time.Duration(n) * time.Second
	}
	e := &Env{AWS: cfg, Getenv: getenv, Log: log, refresh: refresh}
	for _, s := range []secrets.Secret{secrets.AppSecret, secrets.Callback} {
		if id, _ := s.ID(getenv); id != "" {
			e.sm = secretsmanager.NewFromConfig(cfg)
			break
		}
	}
	return e, nil
}

// Secret returns a value that build makes from the environment with the secret
// which laid over it (secrets.Env): only which's keys, so a function sees no
// value of the other secret even where one secret holds both (a stack deployed
// before the split). When the environment names which (secrets.AppSecret:
// WECHAT_SECRET_ID; secrets.Callback: WECHAT_CALLBACK_SECRET_ID, else
// WECHAT_SECRET_ID), the secret's first read starts now, in the background, so
// that it overlaps the rest of init and the runtime's wait for the first event;
// the first Get waits for what is left of it. The secret is then re-read every
// WECHAT_SECRET_REFRESH_SECONDS (300 by default; 0 never) without a read on the
// request path (secrets.Live). When it names none, the value is built now from
// the environment, and build's error is returned.
func Secret[T any](e *Env, which secrets.Secret, build func(getenv func(string) string) (T, error)) (*secrets.Live[T], error) {
	if id, _ := which.ID(e.Getenv); id == "" || e.sm == nil {
		v, err := build(e.Getenv)
		if err != nil {
			return nil, err
		}
		return secrets.NewLive(v, nil, secrets.LiveOptions{}), nil
	}
	read := func(ctx context.Context) (T, error) {
		getenv, err := secrets.Env(ctx, which, e.Getenv, e.sm)
		if err != nil {
			var zero T
			return zero, err
		}
		return build(getenv)
	}
	return secrets.StartLive(read, secrets.LiveOptions{Interval: e.refresh, Log: e.Log}), nil
}

// Fail logs an init failure as one JSON line and exits: Lambda reports the
// instance as failed to initialise, and the next invocation tries again.
func Fail(log *slog.Logger, err error) {
	if log == nil {
		log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	log.Error("init failed", slog.String("error", err.Error()))
	os.Exit(1)
}
