//go:build linux && !js

package stack

import "syscall"

// procAttr puts a child in its own process group (so Stop can kill the group) and has
// the kernel SIGKILL it if the test binary dies without calling Stop (a panic or a
// go test -timeout), so no homeserver or TURN server outlives its test run.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
