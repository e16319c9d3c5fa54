package repo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRoot(t *testing.T) {
	root, err := Root()
	if err != nil {
		t.Fatal(err)
	}
	// The test runs in local/repo, two levels below the module root.
	wd, _ := os.Getwd()
	if want := filepath.Dir(filepath.Dir(wd)); root != want {
		t.Errorf("Root() = %q, want %q", root, want)
	}
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(mod), "module wechatqr") {
		t.Errorf("%s/go.mod is not the wechatqr module", root)
	}
}

func TestRootFrom(t *testing.T) {
	tmp := t.TempDir()
	deep := filepath.Join(tmp, "a", "b", "c")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "a", "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A directory named go.mod is not a go.mod.
	if err := os.Mkdir(filepath.Join(tmp, "a", "b", "go.mod"), 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, from, want string
		wantErr          bool
	}{
		{name: "from below", from: deep, want: filepath.Join(tmp, "a")},
		{name: "from the root itself", from: filepath.Join(tmp, "a"), want: filepath.Join(tmp, "a")},
		{name: "outside any module", from: tmp, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := RootFrom(tt.from)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "no go.mod") {
					t.Fatalf("RootFrom(%q) = %q, %v; want a no-go.mod error", tt.from, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("RootFrom(%q) = %q, %v; want %q", tt.from, got, err, tt.want)
			}
		})
	}
}
