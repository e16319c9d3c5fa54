// Package functions_test holds the checks that span the functions: which of
// the shared packages each one links.
package functions_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestDependenciesPointOneWay: each function links only what it uses, and the
// arrows point from the services to storage and the domain, never back. The
// token refresh links neither the callback nor the actions; the storage
// package no service; boot no shared package but the secret reading.
func TestDependenciesPointOneWay(t *testing.T) {
	services := []string{"shared/callback", "shared/api", "shared/actions", "shared/token", "shared/console"}
	tests := []struct {
		pkg    string
		forbid []string
		only   []string // when set, the only wechatqr/shared packages it may link
	}{
		{pkg: "./tokenrefresh", forbid: []string{"shared/callback", "shared/actions", "shared/api", "shared/console"}},
		{pkg: "./callback", forbid: []string{"shared/actions", "shared/api", "shared/console"}},
		{pkg: "../shared/dynamo", forbid: services},
		{pkg: "./internal/boot", only: []string{"shared/secrets"}},
	}
	for _, tt := range tests {
		t.Run(tt.pkg, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", tt.pkg).CombinedOutput()
			if err != nil {
				t.Fatalf("go list -deps %s: %v\n%s", tt.pkg, err, out)
			}
			for _, dep := range strings.Fields(string(out)) {
				rel, ok := strings.CutPrefix(dep, "wechatqr/")
				if !ok {
					continue
				}
				if slices.Contains(tt.forbid, rel) {
					t.Errorf("%s links %s", tt.pkg, dep)
				}
				if tt.only != nil && strings.HasPrefix(rel, "shared/") && !slices.Contains(tt.only, rel) {
					t.Errorf("%s links %s; only %v of shared/ may be", tt.pkg, dep, tt.only)
				}
			}
		})
	}
}
