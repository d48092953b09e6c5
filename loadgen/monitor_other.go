//go:build !linux

package loadgen

import "runtime"

// holdMonitor does nothing off Linux (see monitor_linux.go): all of GOMAXPROCS is the load's.
func holdMonitor() (procs int, release func()) { return runtime.GOMAXPROCS(0), func() {} }

// loadProcs returns the processors for a run's own work.
func loadProcs() int { return runtime.GOMAXPROCS(0) }
