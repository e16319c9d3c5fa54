package main

import (
	"os/exec"
	"strings"
	"testing"

	"wechatqr/local/repo"
)

// TestNoFunctionLinksAnSDKServiceSchema keeps what the cold start was cut by: a
// Go binary runs every linked package's initialisers at each start, and an AWS
// SDK service's schemas package (its schema-based serialisation, in releases
// since autumn 2026) allocated 0.1 to 1.5 MB there. The functions call Secrets
// Manager, EventBridge and SSM through shared/awsjson, and DynamoDB through the
// client go.mod holds at the release before it (its comment says why and when
// to move). A change that links one again should be measured with make coldstart
// first, and this list changed with its figures.
func TestNoFunctionLinksAnSDKServiceSchema(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	for _, fn := range []string{"callback", "qrcode", "tokenrefresh", "scanactions"} {
		cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", "./functions/"+fn)
		cmd.Dir = root
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps ./functions/%s: %v", fn, err)
		}
		for _, pkg := range strings.Fields(string(out)) {
			if strings.HasPrefix(pkg, "github.com/aws/aws-sdk-go-v2/service/") && strings.HasSuffix(pkg, "/schemas") {
				t.Errorf("functions/%s links %s", fn, pkg)
			}
		}
	}
}
