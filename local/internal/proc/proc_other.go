//go:build unix && !linux

package proc

import (
	"errors"
	"syscall"
)

func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// stat stands for a stray descendant; without /proc none are found, and Close relies on the
// process group and on the servers stopping their own children on SIGTERM.
type stat struct{}

func (stat) kill() error { return nil }

func descendants(int) []stat { return nil }

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
