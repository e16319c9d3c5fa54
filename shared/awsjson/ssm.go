package awsjson

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Parameters reads parameters from AWS Systems Manager's Parameter Store
// (consoleauth.ParameterReader).
type Parameters struct{ c *Client }

// NewParameters reads parameters as cfg's role, at AWS_ENDPOINT_URL_SSM when
// that is set (New).
func NewParameters(cfg aws.Config, getenv func(string) string) *Parameters {
	return &Parameters{New(cfg, getenv, SSM)}
}

// Parameter returns the parameter's value (a String or StringList parameter;
// a SecureString would come back encrypted).
func (p *Parameters) Parameter(ctx context.Context, name string) (string, error) {
	var out struct {
		Parameter *struct{ Value *string }
	}
	if err := p.c.Call(ctx, "GetParameter", struct{ Name string }{name}, &out); err != nil {
		return "", err
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return "", fmt.Errorf("ssm.GetParameter %q: an answer without the parameter's value", name)
	}
	return *out.Parameter.Value, nil
}
