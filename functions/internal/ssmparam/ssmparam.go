// Package ssmparam reads one SSM parameter with a single signed request
// (AmazonSSM.GetParameter over the JSON 1.1 protocol), the only SSM call any
// function makes.
//
// Why not the SDK's ssm client: its package initialisers (the service's
// schemas and endpoint tables) allocated 1.4 MB in 7,900 allocations at every
// cold start, the largest single item of the qrcode function's init
// (GODEBUG=inittrace=1), for one call an instance makes at most once. The
// request here is what that client sends, signed by the SDK's own SigV4 signer.
package ssmparam

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Client reads parameters; build it with New.
type Client struct {
	http     aws.HTTPClient
	creds    aws.CredentialsProvider
	region   string
	endpoint string
	signer   *v4.Signer
}

// New reads parameters with cfg's HTTP client, credentials and region, at
// AWS_ENDPOINT_URL_SSM, else AWS_ENDPOINT_URL (cfg.BaseEndpoint), else the
// region's public endpoint, as the SDK's client would.
func New(cfg aws.Config, getenv func(string) string) *Client {
	c := &Client{http: cfg.HTTPClient, creds: cfg.Credentials, region: cfg.Region, signer: v4.NewSigner()}
	if c.http == nil {
		c.http = &http.Client{Timeout: 10 * time.Second}
	}
	switch {
	case getenv("AWS_ENDPOINT_URL_SSM") != "":
		c.endpoint = getenv("AWS_ENDPOINT_URL_SSM")
	case cfg.BaseEndpoint != nil:
		c.endpoint = *cfg.BaseEndpoint
	default:
		suffix := "amazonaws.com"
		if strings.HasPrefix(c.region, "cn-") {
			suffix = "amazonaws.com.cn"
		}
		c.endpoint = "https://ssm." + c.region + "." + suffix
	}
	c.endpoint = strings.TrimSuffix(c.endpoint, "/") + "/"
	return c
}

// Error is SSM's refusal: its error type (ParameterNotFound,
// AccessDeniedException, …), message and HTTP status.
type Error struct {
	Type    string
	Message string
	Status  int
}

func (e *Error) Error() string {
	return fmt.Sprintf("ssm: GetParameter: %s (HTTP %d): %s", e.Type, e.Status, e.Message)
}

// Parameter returns the parameter's value (a String or StringList parameter;
// a SecureString would come back encrypted).
func (c *Client) Parameter(ctx context.Context, name string) (string, error) {
	if c.region == "" {
		return "", errors.New("ssm: no region (AWS_REGION unset)")
	}
	if c.creds == nil {
		return "", errors.New("ssm: no AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY unset)")
	}
	body, err := json.Marshal(struct{ Name string }{name})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("ssm: endpoint %q: %w", c.endpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "AmazonSSM.GetParameter")
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("ssm: credentials: %w", err)
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ssm", c.region, time.Now()); err != nil {
		return "", fmt.Errorf("ssm: signing: %w", err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("ssm: GetParameter: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("ssm: GetParameter: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Type    string `json:"__type"`
			Message string `json:"message"`
			Upper   string `json:"Message"`
		}
		_ = json.Unmarshal(raw, &e)
		if e.Message == "" {
			e.Message = e.Upper
		}
		// "com.amazonaws.ssm#ParameterNotFound" → "ParameterNotFound"
		typ := e.Type[strings.LastIndex(e.Type, "#")+1:]
		if typ == "" {
			typ = http.StatusText(resp.StatusCode)
		}
		return "", &Error{Type: typ, Message: e.Message, Status: resp.StatusCode}
	}
	var out struct {
		Parameter *struct{ Value *string }
	}
	if err := json.Unmarshal(raw, &out); err != nil || out.Parameter == nil || out.Parameter.Value == nil {
		return "", fmt.Errorf("ssm: GetParameter %q: an answer without the parameter's value", name)
	}
	return *out.Parameter.Value, nil
}
