package dynamo

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"wechatqr/shared/qr"
)

// sdkError is err as the SDK returns it: inside an OperationError, after the
// retryer gave up.
func sdkError(err error) error {
	return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "PutItem",
		Err: &retry.MaxAttemptsError{Attempt: 4, Err: err}}
}

func httpStatus(code int, err error) error {
	return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}}, Err: err}
}

func canceled(reasons ...string) error {
	e := &types.TransactionCanceledException{}
	for _, r := range reasons {
		e.CancellationReasons = append(e.CancellationReasons, types.CancellationReason{Code: aws.String(r)})
	}
	return e
}

func TestOnlyOutagesAreUnavailable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string // qr.ErrorCode of what unavailable returns
	}{
		// DynamoDB throttling: the table or the account is over its limits.
		{"provisioned throughput exceeded", sdkError(&types.ProvisionedThroughputExceededException{}), qr.EUnavailable},
		{"throttling", sdkError(&smithy.GenericAPIError{Code: "ThrottlingException"}), qr.EUnavailable},
		{"request limit exceeded", sdkError(&types.RequestLimitExceeded{}), qr.EUnavailable},
		{"transaction conflict", sdkError(&types.TransactionConflictException{}), qr.EUnavailable},
		{"transaction cancelled by a conflict", sdkError(canceled("None", "TransactionConflict")), qr.EUnavailable},
		{"transaction cancelled by throttling", sdkError(canceled("ThrottlingError", "None")), qr.EUnavailable},
		{"a batch's items unprocessed through its retries", errUnprocessed, qr.EUnavailable},
		{"the retry quota spent", sdkError(ratelimit.QuotaExceededError{Available: 0, Requested: 5}), qr.EUnavailable},
		// DynamoDB failing.
		{"internal server error", sdkError(&types.InternalServerError{}), qr.EUnavailable},
		{"service unavailable", sdkError(httpStatus(503, &smithy.GenericAPIError{Code: "ServiceUnavailable"})), qr.EUnavailable},
		{"any 5xx", sdkError(httpStatus(502, &smithy.GenericAPIError{Code: "BadGateway"})), qr.EUnavailable},
		// Out of reach.
		{"connection refused", sdkError(&smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Err: errors.New("connection refused")}}), qr.EUnavailable},
		{"deadline", sdkError(&smithy.CanceledError{Err: context.DeadlineExceeded}), qr.EUnavailable},
		{"a network timeout", fmt.Errorf("read: %w", &net.OpError{Op: "read", Err: timeoutError{}}), qr.EUnavailable},
		// Ours to fix: internal, whatever their status.
		{"missing table", sdkError(&types.ResourceNotFoundException{}), qr.EInternal},
		{"access denied", sdkError(httpStatus(400, &smithy.GenericAPIError{Code: "AccessDeniedException"})), qr.EInternal},
		{"validation", sdkError(httpStatus(400, &smithy.GenericAPIError{Code: "ValidationException"})), qr.EInternal},
		{"item too large", sdkError(&smithy.GenericAPIError{Code: "ItemCollectionSizeLimitExceededException"}), qr.EInternal},
		{"transaction cancelled by a condition and a conflict", sdkError(canceled("ConditionalCheckFailed", "TransactionConflict")), qr.EInternal},
		{"transaction cancelled by a validation error", sdkError(canceled("ValidationError")), qr.EInternal},
		{"cancelled by the caller", sdkError(&smithy.CanceledError{Err: context.Canceled}), qr.EInternal},
		{"anything else", errors.New("the claim is taken but was not returned"), qr.EInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := unavailable("put code", tt.err)
			if got := qr.ErrorCode(err); got != tt.want {
				t.Errorf("unavailable(%v) has code %q, want %q", tt.err, got, tt.want)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("unavailable(%v) = %v, which lost the cause", tt.err, err)
			}
			if tt.want == qr.EUnavailable && qr.ErrorMessage(err) != "the database is unavailable; retry shortly" {
				t.Errorf("the caller's message is %q", qr.ErrorMessage(err))
			}
		})
	}
}

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }
