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

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
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

// API is the part of the SDK's Secrets Manager client used here.
type API interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
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
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &id})
	if err != nil {
		return nil, readError(id, err)
	}
	value := ""
	if out.SecretString != nil {
		value = *out.SecretString
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

// ErrUndecodable stands for an answer of Secrets Manager that the SDK could not
// decode, in place of the decoder's text: nothing promises that text never
// quotes what it read, and what it read may be the secret.
var ErrUndecodable = errors.New("an answer that is not GetSecretValue's JSON")

// readError is a failed read as the operator needs it: what to check first,
// then the SDK's error, whose service message names the secret and the failure
// (not found, access denied) and never carries the value. An answer the SDK
// could not decode is not quoted (ErrUndecodable).
func readError(id string, err error) error {
	var (
		api    smithy.APIError
		decode *smithy.DeserializationError
	)
	// Not the service's refusal: no credentials (the SDK's error says "get
	// identity"), or no answer at all.
	check := "check the function's AWS credentials and its network path to Secrets Manager (AWS_ENDPOINT_URL_SECRETS_MANAGER when run locally)"
	switch {
	case errors.As(err, &decode):
		check, err = "check the Secrets Manager endpoint the function calls (AWS_ENDPOINT_URL_SECRETS_MANAGER when run locally)", ErrUndecodable
	case errors.As(err, &api):
		switch api.ErrorCode() {
		case "ResourceNotFoundException":
			check = "check that WECHAT_SECRET_ID names a secret of this account in AWS_REGION"
		case "AccessDeniedException", "AccessDenied":
			check = "check that the function's role may secretsmanager:GetSecretValue on the secret (and kms:Decrypt with its key, when it is a customer managed key)"
		case "DecryptionFailure":
			check = "check that the function's role may kms:Decrypt with the secret's KMS key"
		case "InvalidRequestException":
			check = "check that the secret is not scheduled for deletion"
		default:
			check = "check the service's error code and message that follow"
		}
	}
	return fmt.Errorf("secrets: reading WECHAT_SECRET_ID %q (%s): %w", id, check, err)
}
