package cfn_test

import (
	"slices"
	"testing"
)

// TestRepoTemplateCallbackTakesTheMessageMode: the callback's WECHAT_MESSAGE_MODE
// comes from the WeChatMessageMode parameter, which allows exactly the values
// shared/callback parses and defaults to empty (the default rule: safe when an
// EncodingAESKey is configured). A value the callback refuses would fail its
// cold start; one missing would leave a safe-mode account open to the downgrade.
func TestRepoTemplateCallbackTakesTheMessageMode(t *testing.T) {
	raw := loadRaw(t)
	p := get(raw.root, "Parameters", "WeChatMessageMode")
	if p == nil {
		t.Fatal("no WeChatMessageMode parameter")
	}
	var allowed []string
	for _, n := range items(get(p, "AllowedValues")) {
		allowed = append(allowed, scalar(n))
	}
	if want := []string{"", "plaintext", "compatible", "safe"}; !slices.Equal(allowed, want) {
		t.Errorf("WeChatMessageMode AllowedValues = %q, want %q", allowed, want)
	}
	if d := get(p, "Default"); d == nil || scalar(d) != "" {
		t.Errorf("WeChatMessageMode Default = %s, want empty (the default rule)", describe(d))
	}
	found := false
	for _, fn := range raw.resources("AWS::Serverless::Function") {
		v := get(fn.node, "Properties", "Environment", "Variables", "WECHAT_MESSAGE_MODE")
		if v == nil {
			continue
		}
		if fn.id != "CallbackFunction" {
			t.Errorf("%s sets WECHAT_MESSAGE_MODE; only the callback serves pushes", fn.id)
			continue
		}
		found = true
		if r, ok := ref(v); !ok || r != "WeChatMessageMode" {
			t.Errorf("CallbackFunction: WECHAT_MESSAGE_MODE is %s, want !Ref WeChatMessageMode", describe(v))
		}
	}
	if !found {
		t.Error("CallbackFunction has no WECHAT_MESSAGE_MODE")
	}
}
