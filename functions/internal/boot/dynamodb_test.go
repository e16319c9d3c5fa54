package boot

import (
	"context"
	"testing"
)

// TestOneDynamoDBClientWithTheSDKsRetryPolicy: the store and the token source
// get the same client, and it retries as the SDK's DynamoDB client does by
// default (4 attempts from a 25 ms backoff; the SDK's general default is 3):
// nothing in the configuration Load builds replaces that policy.
func TestOneDynamoDBClientWithTheSDKsRetryPolicy(t *testing.T) {
	lambdaEnv(t, nil)
	e, err := Load(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	c := e.DynamoDB()
	if e.DynamoDB() != c {
		t.Error("a second DynamoDB client was built")
	}
	if n := c.Options().Retryer.MaxAttempts(); n != 4 {
		t.Errorf("DynamoDB calls are tried %d times, want the SDK's DynamoDB default, 4", n)
	}
}
