package rie

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"

	"wechatqr/local/repo"
)

// Build compiles the main package pkg as a Lambda bootstrap for this machine (deploys are arm64;
// the emulator runs what this machine runs) and returns the binary's path,
// <outDir>/<last element of pkg>/bootstrap. pkg is an import path ("wechatqr/functions/callback")
// or a path relative to the module root ("./functions/callback"): the build runs in the root,
// wherever the caller runs. The flags are those of the deployed build: no RPC shim (lambda.norpc),
// no cgo (provided.al2023 has no matching C library), no local paths in the binary.
func Build(ctx context.Context, pkg, outDir string) (string, error) {
	root, err := repo.Root()
	if err != nil {
		return "", fmt.Errorf("rie: build %s: %w", pkg, err)
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("rie: build %s: the go command is not on PATH: %w", pkg, err)
	}
	outDir, err = filepath.Abs(outDir)
	if err != nil {
		return "", fmt.Errorf("rie: build %s: %w", pkg, err)
	}
	name := path.Base(strings.TrimSuffix(filepath.ToSlash(pkg), "/"))
	if name == "." || name == "/" || name == "" {
		return "", fmt.Errorf("rie: build %q: want a package path", pkg)
	}
	bin := filepath.Join(outDir, name, "bootstrap")
	cmd := exec.CommandContext(ctx, goTool, "build", "-tags", "lambda.norpc", "-trimpath", "-o", bin, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+runtime.GOOS, "GOARCH="+runtime.GOARCH)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("rie: go build %s: %w\n%s", pkg, err, strings.TrimSpace(out.String()))
	}
	return bin, nil
}
