// Package secrets reads the account's secrets: from AWS Secrets Manager when
// deployed (WECHAT_SECRET_ID names a JSON secret), from environment variables when
// run locally. It is read at cold start and, through Live, again in the background
// on warm instances, so that a rotation reaches every instance without a restart.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// The environment variables a secret overrides, and the JSON keys it holds them in.
var fields = []struct{ env, key string }{
	{"WECHAT_APP_SECRET", "app_secret"},
	{"WECHAT_TOKEN", "token"},
	{"WECHAT_ENCODING_AES_KEY", "encoding_aes_key"},
	// During a rotation: the values before, still accepted.
	{"WECHAT_TOKEN_PREVIOUS", "previous_token"},
	{"WECHAT_ENCODING_AES_KEY_PREVIOUS", "previous_encoding_aes_key"},
}

// API reads a secret from AWS Secrets Manager: the SecretString of its current
// version, "" when it holds only SecretBinary.
type API interface {
	SecretString(ctx context.Context, id string) (string, error)
}

// Env returns a getenv that answers WECHAT_APP_SECRET, WECHAT_TOKEN,
// WECHAT_ENCODING_AES_KEY and, during a rotation, WECHAT_TOKEN_PREVIOUS and
// WECHAT_ENCODING_AES_KEY_PREVIOUS from the secret named by WECHAT_SECRET_ID when that is
// set (the secret wins), and everything else from getenv. Without WECHAT_SECRET_ID
// it returns getenv itself and makes no call. client may be nil then.
func Env(ctx context.Context, getenv func(string) string, client API) (func(string) string, error) {
	id := getenv("WECHAT_SECRET_ID")
	if id == "" {
		return getenv, nil
	}
	if client == nil {
		return nil, errors.New("secrets: WECHAT_SECRET_ID is set but no Secrets Manager client was given")
	}
	value, err := client.SecretString(ctx, id)
	if err != nil {
		// The service's message names the secret and the failure (not found,
		// access denied); it never carries the value.
		return nil, fmt.Errorf("secrets: reading WECHAT_SECRET_ID %q: %w", id, err)
	}
	if value == "" {
		return nil, fmt.Errorf("secrets: %q holds no SecretString; store a JSON object with app_secret, token and encoding_aes_key", id)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(value), &doc); err != nil {
		// Not the JSON error's text: it can quote part of the secret.
		return nil, fmt.Errorf("secrets: %q is not a JSON object; store {\"app_secret\":…,\"token\":…,\"encoding_aes_key\":…}", id)
	}
	values := map[string]string{}
	for _, f := range fields {
		switch v := doc[f.key].(type) {
		case nil:
		case string:
			values[f.env] = v
		default:
			return nil, fmt.Errorf("secrets: %q: key %q must be a string", id, f.key)
		}
	}
	if len(values) == 0 {
		return nil, fmt.Errorf("secrets: %q has none of the keys app_secret, token, encoding_aes_key", id)
	}
	return func(name string) string {
		if v, ok := values[name]; ok {
			return v
		}
		return getenv(name)
	}, nil
}
