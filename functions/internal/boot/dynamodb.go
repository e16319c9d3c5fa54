package boot

import "github.com/aws/aws-sdk-go-v2/service/dynamodb"

// DynamoDB is the instance's one DynamoDB client: the store and the token
// source share it, and so its connections (a cold qrcode or scanactions
// instance opens one TLS connection, not two). It retries as the SDK's
// DynamoDB client does by default.
func (e *Env) DynamoDB() *dynamodb.Client {
	if e.ddb == nil {
		e.ddb = dynamodb.NewFromConfig(e.AWS)
	}
	return e.ddb
}
