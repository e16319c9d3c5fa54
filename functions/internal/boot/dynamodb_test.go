package boot

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// TestOneDynamoDBClientWithDynamoDBsRetryPolicy: the store and the token source
// get the same client, and it retries as SDK releases from v1.74 do for
// DynamoDB (4 attempts), not as the pinned v1.68 would by default (3).
func TestOneDynamoDBClientWithDynamoDBsRetryPolicy(t *testing.T) {
	e := &Env{AWS: aws.Config{Region: "us-east-1"}}
	c := e.DynamoDB()
	if e.DynamoDB() != c {
		t.Error("a second DynamoDB client was built")
	}
	if n := c.Options().Retryer.MaxAttempts(); n != 4 {
		t.Errorf("DynamoDB calls are tried %d times, want 4", n)
	}
}
