package token

import (
	"errors"
	"fmt"
)

// Config is how the environment configures the account's token.
type Config struct {
	AppID   string // WECHAT_APP_ID, required
	Kind    string // WECHAT_TOKEN_KIND: KindStable ("" too) or KindClassic
	BaseURL string // WECHAT_API_BASE_URL: WeChat's API; "" for the real one (locally, the emulator)
}

// ConfigFromEnv reads Config from the environment. The AppSecret is not among
// it: it lives in the account's secret (AppSecretFromEnv).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{AppID: getenv("WECHAT_APP_ID"), Kind: getenv("WECHAT_TOKEN_KIND"), BaseURL: getenv("WECHAT_API_BASE_URL")}
	if cfg.AppID == "" {
		return Config{}, errors.New("WECHAT_APP_ID is required")
	}
	if cfg.Kind != "" && cfg.Kind != KindStable && cfg.Kind != KindClassic {
		return Config{}, fmt.Errorf("WECHAT_TOKEN_KIND: %q is not %q or %q", cfg.Kind, KindStable, KindClassic)
	}
	return cfg, nil
}

// AppSecretFromEnv reads the AppSecret: WECHAT_APP_SECRET, which the account's
// secret's app_secret sets (secrets.Env), or the environment locally. The error
// never holds a value.
func AppSecretFromEnv(getenv func(string) string) (string, error) {
	if s := getenv("WECHAT_APP_SECRET"); s != "" {
		return s, nil
	}
	return "", errors.New("the AppSecret is required: WECHAT_SECRET_ID's app_secret, or WECHAT_APP_SECRET locally")
}
