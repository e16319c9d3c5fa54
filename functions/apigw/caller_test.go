package apigw

import (
	"context"
	"reflect"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"wechatqr/shared/caller"
)

// TestRequestCarriesTheIAMPrincipal: on an IAM-authorized route the request
// carries the principal API Gateway verified; elsewhere (the callback, the
// console) no caller, so the console's guard or "anonymous (local)" names it.
func TestRequestCarriesTheIAMPrincipal(t *testing.T) {
	signed := event("POST", "/qrcodes", "", "{}", false)
	signed.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{
			AccountID: "111122223333", CallerID: "AROAXYZ:ops", UserID: "AROAXYZ:ops",
			UserARN: "arn:aws:sts::111122223333:assumed-role/ops/ops",
		},
	}
	callerOnly := signed
	callerOnly.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
		IAM: &events.APIGatewayV2HTTPRequestContextAuthorizerIAMDescription{CallerID: "AIDAXYZ"},
	}
	tests := []struct {
		name string
		e    events.APIGatewayV2HTTPRequest
		want caller.Caller
	}{
		{"signed", signed, caller.Caller{Kind: caller.IAM, ID: "arn:aws:sts::111122223333:assumed-role/ops/ops", Subject: "AROAXYZ:ops", Account: "111122223333"}},
		{"only a caller id", callerOnly, caller.Caller{Kind: caller.IAM, ID: "AIDAXYZ"}},
		{"no authorizer", event("POST", "/wechat", "", "", false), caller.From(context.Background())},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Request(context.Background(), tt.e)
			if err != nil {
				t.Fatal(err)
			}
			if got := caller.From(r.Context()); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("caller = %+v, want %+v", got, tt.want)
			}
		})
	}
}
