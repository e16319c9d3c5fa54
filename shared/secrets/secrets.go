// Package secrets reads the account's secrets: from AWS Secrets Manager when
// deployed, from environment variables when run locally. The stack keeps two JSON
// secrets, so that each function can read only what it uses (docs/operations.md,
// "Secrets"): the AppSecret's (WECHAT_SECRET_ID), read by the functions that call
// WeChat's API, and the callback's Token and EncodingAESKey
// (WECHAT_CALLBACK_SECRET_ID); a stack that is also a third-party platform keeps
// the platform's two the same way. A secret is read at cold start and, through Live,
// again in the background on warm instances, so that a rotation reaches every
// instance without a restart.
package secrets

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
)

// field is an environment variable a secret overrides and the JSON key it holds it in.
type field struct{ env, key string }

// A Secret is one of the stack's secrets as a reader sees it: the variable that
// names it and the keys taken from it. Other keys the secret holds are not
// taken: a function gets only the values it uses, whatever the secret holds.
type Secret struct {
	// IDVar is the environment variable naming the secret (its name or ARN).
	IDVar string
	// FallbackVar, when IDVar is unset, names the secret read instead.
	FallbackVar string
	fields      []field
}

var (
	// AppSecret is the AppSecret's secret, read by qrcode, scanactions and
	// tokenrefresh to fetch access tokens.
	AppSecret = Secret{IDVar: "WECHAT_SECRET_ID", fields: []field{
		{"WECHAT_APP_SECRET", "app_secret"},
	}}
	// Callback is the callback's secret: the Token and EncodingAESKey, and during a
	// rotation the values before, still accepted. A stack deployed before the
	// split gives the callback only WECHAT_SECRET_ID, naming one secret holding
	// every key: the callback then reads that one, and still takes these keys only.
	Callback = Secret{IDVar: "WECHAT_CALLBACK_SECRET_ID", FallbackVar: "WECHAT_SECRET_ID", fields: []field{
		{"WECHAT_TOKEN", "token"},
		{"WECHAT_ENCODING_AES_KEY", "encoding_aes_key"},
		{"WECHAT_TOKEN_PREVIOUS", "previous_token"},
		{"WECHAT_ENCODING_AES_KEY_PREVIOUS", "previous_encoding_aes_key"},
	}}
	// ComponentAppSecret is the third-party platform's component_appsecret
	// (docs/platform.md), read by tokenrefresh alone: it fetches the
	// component_access_token and asks for tickets; every other function reads
	// that token from the tokens table.
	ComponentAppSecret = Secret{IDVar: "WECHAT_COMPONENT_SECRET_ID", fields: []field{
		{"WECHAT_COMPONENT_APP_SECRET", "app_secret"},
	}}
	// ComponentCallback is the platform's Token and EncodingAESKey (current and
	// previous), read by the callback alone: they open the authorization events
	// and every authorizer's pushes.
	ComponentCallback = Secret{IDVar: "WECHAT_COMPONENT_CALLBACK_SECRET_ID", fields: []field{
		{"WECHAT_COMPONENT_TOKEN", "token"},
		{"WECHAT_COMPONENT_ENCODING_AES_KEY", "encoding_aes_key"},
		{"WECHAT_COMPONENT_TOKEN_PREVIOUS", "previous_token"},
		{"WECHAT_COMPONENT_ENCODING_AES_KEY_PREVIOUS", "previous_encoding_aes_key"},
	}}
)

// Keys lists the JSON keys taken from the secret.
func (s Secret) Keys() []string {
	out := make([]string, len(s.fields))
	for i, f := range s.fields {
		out[i] = f.key
	}
	return out
}

// ID returns the secret's id as getenv gives it, and the variable that gave it;
// "" when neither IDVar nor FallbackVar is set.
func (s Secret) ID(getenv func(string) string) (id, variable string) {
	if id := getenv(s.IDVar); id != "" {
		return id, s.IDVar
	}
	if s.FallbackVar != "" {
		if id := getenv(s.FallbackVar); id != "" {
			return id, s.FallbackVar
		}
	}
	return "", ""
}

// keyList is the keys for messages: "token", "encoding_aes_key", ….
func (s Secret) keyList() string {
	return `"` + strings.Join(s.Keys(), `", "`) + `"`
}

// API is the part of the SDK's Secrets Manager client used here.
type API interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// Env returns a getenv that answers the variables of s's keys (for Callback,
// WECHAT_TOKEN, WECHAT_ENCODING_AES_KEY and, during a rotation,
// WECHAT_TOKEN_PREVIOUS and WECHAT_ENCODING_AES_KEY_PREVIOUS; for AppSecret,
// WECHAT_APP_SECRET) from the secret s names when it names one (the secret
// wins), and everything else from getenv. Without a secret id it returns getenv
// itself and makes no call; client may be nil then.
func Env(ctx context.Context, s Secret, getenv func(string) string, client API) (func(string) string, error) {
	id, variable := s.ID(getenv)
	if id == "" {
		return getenv, nil
	}
	if client == nil {
		return nil, fmt.Errorf("secrets: %s is set but no Secrets Manager client was given", variable)
	}
	out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &id})
	if err != nil {
		return nil, readError(variable, id, err)
	}
	value := ""
	if out.SecretString != nil {
		value = *out.SecretString
	}
	if value == "" {
		return nil, fmt.Errorf("secrets: %q holds no SecretString; store a JSON object with %s", id, s.keyList())
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(value), &doc); err != nil {
		// Not the JSON error's text: it can quote part of the secret.
		return nil, fmt.Errorf("secrets: %q is not a JSON object; store one with %s", id, s.keyList())
	}
	values := map[string]string{}
	for _, f := range s.fields {
		switch v := doc[f.key].(type) {
		case nil:
		case string:
			values[f.env] = v
		default:
			return nil, fmt.Errorf("secrets: %q: key %q must be a string", id, f.key)
		}
	}
	if len(values) == 0 {
		return nil, fmt.Errorf("secrets: %q has none of the keys %s (%s)", id, s.keyList(), variable)
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
func readError(variable, id string, err error) error {
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
			check = "check that " + variable + " names a secret of this account in AWS_REGION"
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
	return fmt.Errorf("secrets: reading %s %q (%s): %w", variable, id, check, err)
}
