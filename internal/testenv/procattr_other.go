//go:build !linux

package testenv

import "os/exec"

// setProcAttr does nothing outside Linux: there is no parent-death signal.
func setProcAttr(*exec.Cmd) {}
