//go:build unix && !linux && !js

package stack

import "syscall"

// procAttr puts a child in its own process group so Stop can kill the group.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
