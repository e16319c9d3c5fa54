// Package repo finds the root of this Go module, so that local tooling finds what it needs
// (local/node_modules, .bin/, template.yaml) wherever a test or a command runs from: `go test`
// runs each package in its own directory, `make run` runs from the root.
package repo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Root returns the directory that holds the module's go.mod, searched upward from the working
// directory.
func Root() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("repo: working directory: %w", err)
	}
	return RootFrom(wd)
}

// RootFrom returns the nearest directory at or above dir that holds a go.mod.
func RootFrom(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("repo: %w", err)
	}
	for d := dir; ; {
		info, err := os.Stat(filepath.Join(d, "go.mod"))
		switch {
		case err == nil && !info.IsDir():
			return d, nil
		case err != nil && !errors.Is(err, os.ErrNotExist):
			return "", fmt.Errorf("repo: looking for go.mod: %w", err)
		}
		parent := filepath.Dir(d)
		if parent == d {
			return "", fmt.Errorf("repo: no go.mod in %s or any directory above it: run from inside the wechatqr module", dir)
		}
		d = parent
	}
}
