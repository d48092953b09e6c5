package main

import (
	"os"
	"os/exec"

	"golang.org/x/sys/unix"
)

// evictCache drops the page cache of a tool's binary, so that every run maps its binary from
// the same state. A binary just written (make bench builds loadgen and installs vegeta and
// bombardier right before it runs them) is wholly in the page cache, and the kernel maps the
// cached pages around each page fault (fault-around): that added up to 4.4 MB of file pages to
// a loadgen run's peak RSS, which a run of the same binary after an eviction does not have.
// Reading the binary again costs the run 10–20 ms of system time, under 0.4 µs a request at
// 5000/s for 10 s, the least for the smallest binaries (loadgen's is the largest).
func evictCache(bin string) error {
	path, err := exec.LookPath(bin)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
}
