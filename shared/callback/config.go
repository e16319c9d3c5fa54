package callback

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"wechatqr/shared/qr"
	"wechatqr/shared/wechat"
)

// Defaults for Config.
const (
	DefaultTolerance = 300 * time.Second
	DefaultMaxBody   = 64 << 10
	// DefaultDeadline leaves room inside WeChat's 5 s for the Lambda runtime and the
	// network: a push still unanswered then gets a 503 and WeChat's retry.
	DefaultDeadline = 4 * time.Second
)

// Config is what the callback needs to know about the account.
type Config struct {
	AppID string
	Token string
	// Cipher decrypts compatible- and safe-mode pushes; nil means plaintext mode only.
	Cipher *wechat.Cipher
	// PreviousToken and PreviousCipher are the values before a rotation, still
	// accepted (a reply goes back under the values its push came with); empty and
	// nil outside a rotation.
	PreviousToken  string
	PreviousCipher *wechat.Cipher
	// Keys, when set, supplies the four values above at each request, as the
	// account's secret is re-read (secrets.Live); Token, Cipher and the previous
	// ones are then ignored.
	Keys Keys
	// MessageMode is the account's message mode as set in WeChat's console;
	// empty takes DefaultMode's rule (safe when an EncodingAESKey is configured).
	MessageMode MessageMode
	// Tolerance is how far a push's timestamp may be from now. Zero or less turns the
	// check off, which is for replaying recorded events locally only.
	Tolerance time.Duration
	// MaxBody is the largest body accepted; larger ones get 413 before any parsing.
	MaxBody int64
	// Deadline bounds the storage work for one push.
	Deadline time.Duration
	// Welcome answers a follow that came through no code; nil answers "success".
	Welcome *qr.Reply
	// Default answers a scan of a scene with no mapping; nil answers "success".
	Default *qr.Reply
	// Login answers the scans of log-in codes; zero fields take DefaultLoginReplies.
	Login LoginReplies
	// ToUserName, when set, is the account's original ID (gh_…): a push
	// addressed to another is refused. It is set for an authorizer, whose
	// pushes are sealed with the platform's keys like every other
	// authorizer's.
	ToUserName string
	// Texts answers users' text messages; nil leaves them unanswered.
	Texts Texts
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// MessageMode is WeChat's message mode (docs/wechat.md): what a push must be to
// be served.
type MessageMode string

// The message modes. Plaintext serves a plain push under its query signature and,
// when a key is configured, an encrypted one under its msg_signature: it is the
// mode to be in while WeChat's console is being switched. Compatible and Safe
// refuse a push without encrypt_type=aes, whose body no signature covers.
const (
	Plaintext  MessageMode = "plaintext"
	Compatible MessageMode = "compatible"
	Safe       MessageMode = "safe"
)

// ParseMessageMode reads WECHAT_MESSAGE_MODE's value; empty is the default rule.
func ParseMessageMode(s string) (MessageMode, error) {
	switch m := MessageMode(s); m {
	case "", Plaintext, Compatible, Safe:
		return m, nil
	}
	return "", fmt.Errorf("%q is not a message mode: plaintext, compatible or safe (empty: safe when an EncodingAESKey is configured, else plaintext)", s)
}

// encrypted tells whether mode m refuses a push without encrypt_type=aes; an
// empty m applies the default rule with canDecrypt, whether a key is configured.
func (m MessageMode) encrypted(canDecrypt bool) bool {
	if m == "" {
		return canDecrypt
	}
	return m != Plaintext
}

// LoginReplies are what a log-in code's scanner reads.
type LoginReplies struct {
	Bound, Used, Expired *qr.Reply
}

// DefaultLoginReplies are the log-in replies unless configured.
var DefaultLoginReplies = LoginReplies{
	Bound:   qr.TextReply("You are logged in. Go back to the website."),
	Used:    qr.TextReply("This log-in code has already been used. Reload the page for a new one."),
	Expired: qr.TextReply("This log-in code has expired. Reload the page for a new one."),
}

// errNoKey completes the message of a compatible or safe mode without a key.
const errNoKey = "mode needs the account's EncodingAESKey (WECHAT_ENCODING_AES_KEY, or encoding_aes_key in the secret)"

// Keys supplies the Token and EncodingAESKey, current and previous, as they
// change. A *secrets.Live[*wechat.Verifier] is one: the secret, re-read.
type Keys interface {
	// Get returns the values to check a request with now. It is called once
	// per request and must not wait, except at an instance's first requests, for
	// the secret's first read (bounded by ctx).
	Get(ctx context.Context) (*wechat.Verifier, error)
	// Renew is called when a request fails verification. If the values are older
	// than their refresh interval, it waits (bounded by ctx) for them to be re-read
	// and returns the new ones with true when they changed: the first push signed
	// with a new Token on an instance that has not yet seen it is then served
	// rather than lost. It returns false at once otherwise.
	Renew(ctx context.Context) (*wechat.Verifier, bool)
}

// StaticKeys are Keys that never change.
type StaticKeys struct{ V *wechat.Verifier }

// Get returns k.V.
func (k StaticKeys) Get(context.Context) (*wechat.Verifier, error) { return k.V, nil }

// Renew has nothing newer.
func (k StaticKeys) Renew(context.Context) (*wechat.Verifier, bool) { return nil, false }

// VerifierFromEnv builds the callback's Verifier from WECHAT_TOKEN,
// WECHAT_ENCODING_AES_KEY and, during a rotation, WECHAT_TOKEN_PREVIOUS and
// WECHAT_ENCODING_AES_KEY_PREVIOUS, for appID. Errors name the variable, never
// its value.
func VerifierFromEnv(getenv func(string) string, appID string) (*wechat.Verifier, error) {
	return verifierFromEnv(getenv, "WECHAT_", appID, "the Token from the account's server configuration", false)
}

// ComponentVerifierFromEnv builds the Verifier of the third-party platform's
// pushes (docs/platform.md) from WECHAT_COMPONENT_TOKEN,
// WECHAT_COMPONENT_ENCODING_AES_KEY and, during a rotation,
// WECHAT_COMPONENT_TOKEN_PREVIOUS and WECHAT_COMPONENT_ENCODING_AES_KEY_PREVIOUS,
// with the component AppID as the trailer. The key is required: every push to
// a platform is encrypted.
func ComponentVerifierFromEnv(getenv func(string) string, componentAppID string) (*wechat.Verifier, error) {
	return verifierFromEnv(getenv, "WECHAT_COMPONENT_", componentAppID, "the message check Token of the platform's development settings", true)
}

func verifierFromEnv(getenv func(string) string, prefix, appID, tokenIs string, keyRequired bool) (*wechat.Verifier, error) {
	k := wechat.Keys{Token: getenv(prefix + "TOKEN"), PreviousToken: getenv(prefix + "TOKEN_PREVIOUS")}
	if k.Token == "" {
		return nil, fmt.Errorf("%sTOKEN is required: %s", prefix, tokenIs)
	}
	if keyRequired && getenv(prefix+"ENCODING_AES_KEY") == "" {
		return nil, fmt.Errorf("%sENCODING_AES_KEY is required: every push to a third-party platform is encrypted", prefix)
	}
	for _, c := range []struct {
		name string
		dst  **wechat.Cipher
	}{{prefix + "ENCODING_AES_KEY", &k.Cipher}, {prefix + "ENCODING_AES_KEY_PREVIOUS", &k.PreviousCipher}} {
		if key := getenv(c.name); key != "" {
			cipher, err := wechat.NewCipher(key, appID)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
			*c.dst = cipher
		}
	}
	return wechat.NewVerifier(k)
}

// ConfigFromEnv reads the configuration from environment variables (docs/operations.md, "Environment variables"):
// WECHAT_APP_ID, WECHAT_MESSAGE_MODE, WECHAT_TIMESTAMP_TOLERANCE (seconds; 0 turns the window off, for
// local replays only), WECHAT_MAX_BODY_BYTES, WECHAT_WELCOME_REPLY and
// WECHAT_DEFAULT_REPLY (texts; empty answers "success"). The Token and the keys,
// which live in the secret, are not among them: set Keys (VerifierFromEnv).
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	cfg := Config{
		AppID:     getenv("WECHAT_APP_ID"),
		Tolerance: DefaultTolerance,
		MaxBody:   DefaultMaxBody,
		Deadline:  DefaultDeadline,
	}
	if cfg.AppID == "" {
		return Config{}, errors.New("WECHAT_APP_ID is required")
	}
	mode, err := ParseMessageMode(getenv("WECHAT_MESSAGE_MODE"))
	if err != nil {
		return Config{}, fmt.Errorf("WECHAT_MESSAGE_MODE: %w", err)
	}
	// Deployed, the key is in a secret (WECHAT_CALLBACK_SECRET_ID, or
	// WECHAT_SECRET_ID in the one-secret layout), read later: a mode without one
	// is then refused per push, with the same message.
	inSecret := getenv("WECHAT_CALLBACK_SECRET_ID") != "" || getenv("WECHAT_SECRET_ID") != ""
	if mode.encrypted(false) && !inSecret && getenv("WECHAT_ENCODING_AES_KEY") == "" {
		return Config{}, fmt.Errorf("WECHAT_MESSAGE_MODE: %s %s", mode, errNoKey)
	}
	cfg.MessageMode = mode
	if v := getenv("WECHAT_TIMESTAMP_TOLERANCE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return Config{}, fmt.Errorf("WECHAT_TIMESTAMP_TOLERANCE: %q is not a whole number of seconds (0 turns the check off)", v)
		}
		cfg.Tolerance = time.Duration(n) * time.Second
	}
	if v := getenv("WECHAT_MAX_BODY_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return Config{}, fmt.Errorf("WECHAT_MAX_BODY_BYTES: %q is not a positive number of bytes", v)
		}
		cfg.MaxBody = n
	}
	for _, r := range []struct {
		name string
		dst  **qr.Reply
	}{
		{"WECHAT_WELCOME_REPLY", &cfg.Welcome}, {"WECHAT_DEFAULT_REPLY", &cfg.Default},
		{"WECHAT_LOGIN_REPLY_BOUND", &cfg.Login.Bound}, {"WECHAT_LOGIN_REPLY_USED", &cfg.Login.Used},
		{"WECHAT_LOGIN_REPLY_EXPIRED", &cfg.Login.Expired},
	} {
		if v := getenv(r.name); v != "" {
			reply := qr.TextReply(v)
			if err := reply.Validate(); err != nil {
				return Config{}, fmt.Errorf("%s: %w", r.name, err)
			}
			*r.dst = reply
		}
	}
	return cfg, nil
}
