package dynamo

import (
	"context"
	"errors"
	"net"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// errUnprocessed: a batch call left items unprocessed through all its retries,
// which DynamoDB does when the table is over its throughput: an outage.
var errUnprocessed = errors.New("items left unprocessed after retries")

// outageCodes are DynamoDB's error codes for "not now": throttling and its own
// failures. TransactionConflict (another transaction holds an item; reported as a
// TransactionCanceledException's reason) is among them: it is contention that a
// retry a moment later resolves, not a fault of the request, and "retry shortly"
// is what the caller should do. ConditionalCheckFailed is not: the callers turn
// it into their own answer before it gets here.
var outageCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"ThrottlingException":                    true,
	"RequestLimitExceeded":                   true,
	"TransactionConflictException":           true,
	"InternalServerError":                    true,
	"ServiceUnavailable":                     true,
	// The reasons of a TransactionCanceledException.
	"ProvisionedThroughputExceeded": true,
	"ThrottlingError":               true,
	"TransactionConflict":           true,
}

// outage reports a failure that is DynamoDB's or the network's, for which a retry
// later may succeed: throttling, a 5xx, a request that could not be sent or got no
// answer in time, a retry quota spent on such failures.
func outage(err error) bool {
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		// Cancelled as a whole: an outage when a reason is one and none is the
		// request's own (a failed condition, an invalid item).
		transient := false
		for _, r := range tc.CancellationReasons {
			switch code := aws.ToString(r.Code); {
			case outageCodes[code]:
				transient = true
			case code != "" && code != "None":
				return false
			}
		}
		return transient
	}
	var ae smithy.APIError
	if errors.As(err, &ae) && outageCodes[ae.ErrorCode()] {
		return true
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && status.HTTPStatusCode() >= 500 {
		return true
	}
	var send *smithyhttp.RequestSendError
	var quota ratelimit.QuotaExceededError
	var ne net.Error
	return errors.Is(err, errUnprocessed) || errors.As(err, &send) || errors.As(err, &quota) ||
		errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}
