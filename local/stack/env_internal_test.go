package stack

import (
	"net"
	"path/filepath"
	"testing"

	"wechatqr/local/cfn"
	"wechatqr/local/dynamolocal"
	"wechatqr/local/repo"
	"wechatqr/shared/wechat/wechattest"
)

// TestEnvOfTheRepoTemplateResolvesLocally: every function's environment in template.yaml
// resolves with the parameters' defaults, conditions included, and a stack that is no platform
// (ComponentAppId empty, as it defaults) gives no function a platform variable, so each runs as
// before the platform existed.
func TestEnvOfTheRepoTemplateResolvesLocally(t *testing.T) {
	root, err := repo.Root()
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := cfn.Load(filepath.Join(root, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := &Stack{
		DB:         &dynamolocal.Server{},
		Platform:   wechattest.NewNetwork(wechattest.PlatformConfig{}).Platform(wechattest.DefaultAppID),
		Template:   tpl,
		Tables:     map[string]string{},
		platformLn: ln,
	}
	for _, tb := range tpl.Tables() {
		s.Tables[tb.LogicalID] = "local-" + tb.LogicalID
	}
	platformVars := []string{"WECHAT_COMPONENT_APP_ID", "WECHAT_COMPONENT_CALLBACK_SECRET_ID", "WECHAT_COMPONENT_SECRET_ID"}
	seen := map[string]bool{}
	for _, f := range tpl.Functions() {
		env, err := s.environment(f, nil)
		if err != nil {
			t.Errorf("%s: %v", f.LogicalID, err)
			continue
		}
		for _, v := range platformVars {
			if _, declared := f.Environment[v]; declared {
				seen[v] = true
			}
			if got, ok := env[v]; ok {
				t.Errorf("%s: %s = %q on a stack that is no platform, want it absent", f.LogicalID, v, got)
			}
		}
		if f.LogicalID == "CallbackFunction" && env["TOKENS_TABLE"] != "local-TokensTable" {
			t.Errorf("CallbackFunction: TOKENS_TABLE = %q, want local-TokensTable (the platform's ticket and claims)", env["TOKENS_TABLE"])
		}
	}
	// Without this the check above would pass on a template that lost the platform's variables.
	for _, v := range platformVars {
		if !seen[v] {
			t.Errorf("no function declares %s", v)
		}
	}
}
