//go:build !linux

package main

import "os/exec"

// setParentDeath does nothing where the kernel cannot signal a child when
// its parent dies: the demo stops its processes when it ends.
func setParentDeath(cmd *exec.Cmd) {}
