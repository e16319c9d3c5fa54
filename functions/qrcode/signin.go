package main

import (
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"wechatqr/functions/internal/boot"
	"wechatqr/shared/consoleauth"
)

// consoleAuth is the console's sign-in as the environment configures it. When
// the template passes only the name of the SSM parameter holding the app client
// id (consoleauth.ClientIDFromParameter says why), the parameter is read at the
// first console request that needs it, not at init
// (consoleauth.FromEnvWithParameter): the management API's cold start makes no
// SSM call. A failed read leaves the console's data refused with a clear
// message, is logged, and is retried later; it does not fail the function.
//
// It lives here rather than in boot so that only this function links the
// sign-in's packages (JWT, JWKS, the SSM client).
func consoleAuth(env *boot.Env) (consoleauth.Setup, error) {
	return consoleauth.FromEnvWithParameter(env.Getenv, ssm.NewFromConfig(env.AWS), env.Log)
}
