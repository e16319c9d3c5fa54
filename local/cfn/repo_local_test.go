package cfn_test

import (
	"os"
	"strings"
	"testing"
)

// WECHATQR_LOCAL=1 is what lets the qrcode function run with CONSOLE_AUTH=none
// and take requests without an IAM caller (docs/operations.md, "The local
// flag"); only local/stack sets it. Deployed, neither may happen, so no
// function of the template, Globals included, sets either variable.
func TestRepoTemplateSetsNoLocalFlag(t *testing.T) {
	tpl := loadRepoTemplate(t)
	if len(tpl.Functions()) == 0 {
		t.Fatal("no functions read from the template")
	}
	for _, f := range tpl.Functions() {
		for _, name := range []string{"WECHATQR_LOCAL", "CONSOLE_AUTH"} {
			if v, ok := f.Environment[name]; ok {
				t.Errorf("%s sets %s (%v): only the local stack may", f.LogicalID, name, v)
			}
		}
	}
	// Nor anywhere else in the file (a parameter, an output, a nested stack's variables).
	raw, err := os.ReadFile(templatePath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "WECHATQR_LOCAL") {
		t.Error("template.yaml names WECHATQR_LOCAL: the local stack's flag has no place in a deploy")
	}
}
