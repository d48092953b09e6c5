package dashboards_test

import "syscall"

// childAttr makes a child get SIGTERM if the test binary dies, so that the academy still
// stops its PostgreSQL and nothing is left running.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
