package awsjson

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Secrets reads secrets from AWS Secrets Manager (secrets.API).
type Secrets struct{ c *Client }

// NewSecrets reads secrets as cfg's role, at AWS_ENDPOINT_URL_SECRETS_MANAGER
// when that is set (New).
func NewSecrets(cfg aws.Config, getenv func(string) string) *Secrets {
	return &Secrets{New(cfg, getenv, SecretsManager)}
}

// SecretString returns the current version's SecretString ("" for a secret
// that holds only SecretBinary).
func (s *Secrets) SecretString(ctx context.Context, id string) (string, error) {
	var out struct{ SecretString string }
	if err := s.c.Call(ctx, "GetSecretValue", struct{ SecretId string }{id}, &out); err != nil {
		return "", err
	}
	return out.SecretString, nil
}
