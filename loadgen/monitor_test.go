//go:build linux

package loadgen

import (
	"bytes"
	"runtime"
	"testing"
	"time"
)

// TestHoldMonitor: while a hold is on, GOMAXPROCS is one more than before, loadProcs says
// how many are the load's, and a goroutine sits in a system call (what keeps the runtime's
// monitor out of its deep sleep); holds overlap, and the last release puts everything back.
func TestHoldMonitor(t *testing.T) {
	base := runtime.GOMAXPROCS(0)
	procs, release1 := holdMonitor()
	if procs != base || loadProcs() != base {
		t.Errorf("holdMonitor gave %d processors, loadProcs %d; want %d (GOMAXPROCS before)", procs, loadProcs(), base)
	}
	if got := runtime.GOMAXPROCS(0); got != base+1 {
		t.Errorf("GOMAXPROCS during a hold = %d; want %d", got, base+1)
	}
	if !holderInSyscall(t) {
		t.Error("no goroutine of holdSyscall found in a system call during a hold")
	}
	procs2, release2 := holdMonitor()
	if procs2 != base || runtime.GOMAXPROCS(0) != base+1 {
		t.Errorf("second hold: %d processors, GOMAXPROCS %d; want %d and %d", procs2, runtime.GOMAXPROCS(0), base, base+1)
	}
	release1()
	release1() // a second call of the same release is a no-op
	if got := runtime.GOMAXPROCS(0); got != base+1 {
		t.Errorf("GOMAXPROCS with one hold left = %d; want %d", got, base+1)
	}
	release2()
	if got := runtime.GOMAXPROCS(0); got != base {
		t.Errorf("GOMAXPROCS after the last release = %d; want %d", got, base)
	}
	if loadProcs() != base {
		t.Errorf("loadProcs after the last release = %d; want %d", loadProcs(), base)
	}
	if holderAlive() {
		t.Error("holdSyscall still running after the last release")
	}
}

// holderInSyscall looks for the holding goroutine in a system call; it spends all but a
// moment of every 5 ms there, so a few looks find it.
func holderInSyscall(t *testing.T) bool {
	for range 100 {
		for _, g := range bytes.Split(allStacks(), []byte("\n\n")) {
			if bytes.Contains(g, []byte("[syscall")) && bytes.Contains(g, []byte("holdSyscall")) {
				return true
			}
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

func holderAlive() bool { return bytes.Contains(allStacks(), []byte("holdSyscall")) }

func allStacks() []byte {
	buf := make([]byte, 1<<20)
	return buf[:runtime.Stack(buf, true)]
}
