// Package boot is the cold-start wiring every function shares: the JSON logger,
// the AWS configuration, and the environment with the account's secrets laid over
// it. It runs once per instance, at init.
package boot

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"wechatqr/shared/secrets"
)

// Env is what a function builds its dependencies from.
type Env struct {
	AWS    aws.Config
	Getenv func(string) string // os.Getenv, with the secret's values when WECHAT_SECRET_ID is set
	Log    *slog.Logger
}

// Load reads the AWS configuration and, when WECHAT_SECRET_ID is set, the secret.
func Load(ctx context.Context) (*Env, error) {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("aws config: %w", err)
	}
	var sm secrets.API
	if os.Getenv("WECHAT_SECRET_ID") != "" {
		sm = secretsmanager.NewFromConfig(cfg)
	}
	getenv, err := secrets.Env(ctx, os.Getenv, sm)
	if err != nil {
		return nil, err
	}
	return &Env{AWS: cfg, Getenv: getenv, Log: log}, nil
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
