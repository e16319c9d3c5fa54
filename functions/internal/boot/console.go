package boot

import (
	"context"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"wechatqr/shared/consoleauth"
)

// ConsoleAuth is the console's sign-in as the environment configures it, with
// the app client id read from SSM when the template passes only its parameter's
// name (consoleauth.ClientIDFromParameter says why). A failed read leaves the
// console's data refused and is logged; it does not fail the function.
func (e *Env) ConsoleAuth(ctx context.Context) (consoleauth.Setup, error) {
	getenv := e.Getenv
	if getenv(consoleauth.EnvClientIDParameter) != "" && getenv(consoleauth.EnvClientID) == "" &&
		!strings.EqualFold(getenv(consoleauth.EnvAuth), "none") {
		var err error
		getenv, err = consoleauth.ClientIDFromParameter(ctx, getenv, parameters{ssm.NewFromConfig(e.AWS)})
		if err != nil {
			e.Log.Error("console sign-in unavailable", "error", err.Error())
			msg := "the console's sign-in could not be set up (its app client id was not readable); an operator should check the function's logs"
			return consoleauth.Setup{Mode: "unconfigured", Settings: map[string]any{"auth": "unconfigured", "message": msg}, Guard: consoleauth.Refuse(msg)}, nil
		}
	}
	return consoleauth.FromEnv(getenv, e.Log)
}

type parameters struct{ c *ssm.Client }

func (p parameters) Parameter(ctx context.Context, name string) (string, error) {
	out, err := p.c.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(name)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.Parameter.Value), nil
}
