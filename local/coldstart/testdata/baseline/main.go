// Command baseline is the floor coldstart measures the functions against: a Go
// bootstrap that does nothing at init but lambda.Start (aws-lambda-go alone), built
// with the functions' flags and started under the same emulator in the same run. It
// answers every event with an empty object.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, json.RawMessage) (json.RawMessage, error) {
		return json.RawMessage(`{}`), nil
	})
}
