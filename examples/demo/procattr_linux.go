package main

import (
	"os/exec"
	"syscall"
)

// setParentDeath has the kernel interrupt the process if the demo dies
// without stopping it (killed, crashed).
func setParentDeath(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGINT}
}
