package boot

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// DynamoDB is the instance's one DynamoDB client: the store and the token
// source share it, and so its connections (a cold qrcode or scanactions
// instance opens one TLS connection, not two).
func (e *Env) DynamoDB() *dynamodb.Client {
	if e.ddb == nil {
		e.ddb = dynamodb.NewFromConfig(e.AWS, dynamoRetries)
	}
	return e.ddb
}

// dynamoRetries is the retry policy the SDK gives DynamoDB from its v1.74 on
// (4 attempts, a 25 ms base backoff, for a service whose calls take
// milliseconds), which the pinned v1.68 client (go.mod says why) left to an
// environment flag; the general default is 3 attempts from 50 ms.
func dynamoRetries(o *dynamodb.Options) {
	o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = 4
		so.BaseDelay = 25 * time.Millisecond
	})
}
