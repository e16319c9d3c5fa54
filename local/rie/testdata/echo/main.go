// Command echo is the Lambda function the rie tests run: it answers with its input, so a test
// sees the payload make the round trip through the emulator, and it has a few magic inputs for
// the paths that are not an echo.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

func handle(ctx context.Context, in json.RawMessage) (json.RawMessage, error) {
	var magic string
	_ = json.Unmarshal(in, &magic) // most inputs are not strings: they are echoed
	fmt.Printf("echo: got %s\n", in)
	switch magic {
	case "fail":
		return nil, errors.New("echo: asked to fail")
	case "pid":
		// For the test that Close leaves no runtime behind.
		return json.Marshal(os.Getpid())
	case "env":
		// Tell the test what the emulator passed down, to check what leaks from its parent.
		env := map[string]string{}
		for _, k := range []string{"AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_LAMBDA_FUNCTION_NAME", "ECHO_EXTRA", "PARENT_ONLY"} {
			env[k] = os.Getenv(k)
		}
		return json.Marshal(env)
	case "sleep":
		// Outlive the function's timeout.
		deadline, _ := ctx.Deadline()
		time.Sleep(time.Until(deadline) + time.Second)
	}
	return in, nil
}

func main() {
	lambda.Start(handle)
}
