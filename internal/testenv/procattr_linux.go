package testenv

import (
	"os/exec"
	"syscall"
)

// setProcAttr makes the kernel kill the child when the test process dies without
// running its teardown (a panic, a -timeout, a SIGKILL).
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
