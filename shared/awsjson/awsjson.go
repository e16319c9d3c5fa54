// Package awsjson makes the functions' calls to AWS services other than
// DynamoDB (Secrets Manager's GetSecretValue, EventBridge's PutEvents, SSM's
// GetParameter) as requests of the services' JSON 1.1 protocol, signed by the
// SDK's own SigV4 signer and retried as the SDK's standard retryer decides.
//
// Why not the SDK's service clients: a Go binary runs every linked package's
// initialisers at each cold start, and a service client's (its schemas and
// endpoint tables) cost more than the one or two operations a function calls.
// GODEBUG=inittrace=1, on every function's bootstrap: secretsmanager 0.23 MB
// allocated, about 1.1 ms; eventbridge 0.44 MB, about 2 ms; ssm 1.4 MB. A cold
// instance's fresh heap is paid for page by page, so allocation at init is
// time (make coldstart). The requests here are what those clients send.
package awsjson

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// Service names one AWS service as the SDK does.
type Service struct {
	// ID is the SDK's service id; AWS_ENDPOINT_URL_<ID in capitals, spaces as
	// underscores> overrides the endpoint, as for the SDK's clients.
	ID string
	// Prefix is both the endpoint's host prefix and the SigV4 signing name.
	Prefix string
	// Target is the X-Amz-Target prefix of the service's operations.
	Target string
}

// The services the functions call.
var (
	SecretsManager = Service{ID: "Secrets Manager", Prefix: "secretsmanager", Target: "secretsmanager"}
	EventBridge    = Service{ID: "EventBridge", Prefix: "events", Target: "AWSEvents"}
	SSM            = Service{ID: "SSM", Prefix: "ssm", Target: "AmazonSSM"}
)

// maxAnswer bounds what is read of an answer: the largest here is a secret
// (64 KiB at most) in its JSON envelope.
const maxAnswer = 1 << 20

// Client calls one service; build it with New.
type Client struct {
	svc      Service
	http     aws.HTTPClient
	creds    aws.CredentialsProvider
	region   string
	endpoint string
	signer   *v4.Signer
	retryer  aws.Retryer
}

// New calls svc with cfg's HTTP client, credentials and region, at
// AWS_ENDPOINT_URL_<service>, else AWS_ENDPOINT_URL (cfg.BaseEndpoint), else
// the region's public endpoint, as the SDK's client would.
func New(cfg aws.Config, getenv func(string) string, svc Service) *Client {
	c := &Client{svc: svc, http: cfg.HTTPClient, creds: cfg.Credentials, region: cfg.Region, signer: v4.NewSigner(), retryer: retry.NewStandard()}
	if c.http == nil {
		c.http = &http.Client{Timeout: 10 * time.Second}
	}
	override := "AWS_ENDPOINT_URL_" + strings.ToUpper(strings.ReplaceAll(svc.ID, " ", "_"))
	switch {
	case getenv(override) != "":
		c.endpoint = getenv(override)
	case cfg.BaseEndpoint != nil:
		c.endpoint = *cfg.BaseEndpoint
	default:
		suffix := "amazonaws.com"
		if strings.HasPrefix(c.region, "cn-") {
			suffix = "amazonaws.com.cn"
		}
		c.endpoint = "https://" + svc.Prefix + "." + c.region + "." + suffix
	}
	c.endpoint = strings.TrimSuffix(c.endpoint, "/") + "/"
	return c
}

// Endpoint is the URL the client calls.
func (c *Client) Endpoint() string { return c.endpoint }

// Error is the service's refusal of a call.
type Error struct {
	Op      string // "secretsmanager.GetSecretValue"
	Type    string // the service's error type: ResourceNotFoundException, AccessDeniedException, …
	Message string
	Status  int
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s (HTTP %d): %s", e.Op, e.Type, e.Status, e.Message)
}

// ErrorCode and HTTPStatusCode are what the SDK's retryer reads to tell a
// throttle or a server error (retried) from a refusal (not retried).
func (e *Error) ErrorCode() string   { return e.Type }
func (e *Error) HTTPStatusCode() int { return e.Status }

// Call sends op with in as its JSON body and decodes the answer into out.
// Server errors, throttling and broken connections are retried with the SDK's
// standard backoff, up to its attempts (3); a refusal comes back as *Error.
func (c *Client) Call(ctx context.Context, op string, in, out any) error {
	name := c.svc.Prefix + "." + op
	if c.region == "" {
		return fmt.Errorf("%s: no region (AWS_REGION unset)", name)
	}
	if c.creds == nil {
		return fmt.Errorf("%s: no AWS credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY unset)", name)
	}
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s: encoding the request: %w", name, err)
	}
	for attempt := 1; ; attempt++ {
		err = c.once(ctx, name, op, body, out)
		if err == nil || attempt >= c.retryer.MaxAttempts() || !c.retryer.IsErrorRetryable(err) {
			return err
		}
		delay, derr := c.retryer.RetryDelay(attempt, err)
		if derr != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
	}
}

func (c *Client) once(ctx context.Context, name, op string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s: endpoint %q: %w", name, c.endpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", c.svc.Target+"."+op)
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("%s: credentials: %w", name, err)
	}
	sum := sha256.Sum256(body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), c.svc.Prefix, c.region, time.Now()); err != nil {
		return fmt.Errorf("%s: signing: %w", name, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%s: reading the answer: %w", name, err)
	}
	if resp.StatusCode != http.StatusOK {
		return refusal(name, resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		// Not the decoder's text: the answer may hold a secret.
		return fmt.Errorf("%s: an answer that is not the operation's JSON (HTTP 200, %d bytes)", name, len(raw))
	}
	return nil
}

// refusal reads the protocol's error body, {"__type": "…#Name", "message": …}
// (some services spell it Message).
func refusal(name string, status int, raw []byte) error {
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
		typ = http.StatusText(status)
	}
	return &Error{Op: name, Type: typ, Message: e.Message, Status: status}
}
