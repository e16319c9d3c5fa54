package boot

import (
	"context"

	"wechatqr/shared/callback"
	"wechatqr/shared/secrets"
	"wechatqr/shared/wechat"
)

// CallbackKeys are the callback's Token and EncodingAESKey, current and previous,
// from the secret (or, locally, the environment), kept fresh by Secret.
func (e *Env) CallbackKeys(appID string) (callback.Keys, error) {
	live, err := Secret(e, func(getenv func(string) string) (*wechat.Verifier, error) {
		return callback.VerifierFromEnv(getenv, appID)
	})
	if err != nil {
		return nil, err
	}
	return liveKeys{live}, nil
}

type liveKeys struct {
	*secrets.Live[*wechat.Verifier]
}

func (k liveKeys) Verifier(ctx context.Context) (*wechat.Verifier, error) { return k.Get(ctx) }
