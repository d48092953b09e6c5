//go:build !linux

package dashboards_test

import "syscall"

func childAttr() *syscall.SysProcAttr { return nil }
