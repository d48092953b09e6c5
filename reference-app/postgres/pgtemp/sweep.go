package pgtemp

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ownerFile names, inside a cluster directory, the process that owns it
// ("pid starttime"), so that a later Start can remove the directories of
// owners that were killed before they could clean up (SIGKILL).
const ownerFile = "owner"

// dirPrefix prefixes every cluster directory in os.TempDir().
const dirPrefix = "academy-pg-"

func writeOwner(dir string) error {
	pid := os.Getpid()
	return os.WriteFile(filepath.Join(dir, ownerFile), fmt.Appendf(nil, "%d %s\n", pid, startTime(pid)), 0o644)
}

// startTime is field 22 of /proc/PID/stat (start time since boot), which
// tells a live owner from a new process that reuses its pid; "" if unknown.
func startTime(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	// The command name (field 2) may hold spaces: count fields after ')'.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

// alive reports whether the process recorded as "pid starttime" runs.
func alive(record string) bool {
	f := strings.Fields(record)
	if len(f) == 0 {
		return false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil || pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && err != syscall.EPERM {
		return false
	}
	return len(f) < 2 || startTime(pid) == f[1]
}

// SweepStale removes the cluster directories left by owners that died
// without Stop (for example killed with SIGKILL), killing a server still
// running in one. A directory without an owner file (made by another tool
// or an older build) is removed only when it is over a minute old and no
// server runs in it. It is best effort and returns the directories it
// removed; Start calls it.
func SweepStale() []string {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	var removed []string
	for _, dir := range dirs {
		postmaster := postmasterPID(dir)
		owner, err := os.ReadFile(filepath.Join(dir, ownerFile))
		switch {
		case err != nil:
			st, serr := os.Stat(dir)
			if serr != nil || time.Since(st.ModTime()) < time.Minute || postmaster > 0 {
				continue
			}
		case alive(string(owner)):
			continue
		case postmaster > 0:
			// A server that outlived its owner: kill its process group.
			_ = syscall.Kill(-postmaster, syscall.SIGKILL)
			_ = syscall.Kill(postmaster, syscall.SIGKILL)
		}
		if os.RemoveAll(dir) == nil {
			removed = append(removed, dir)
		}
	}
	return removed
}

// postmasterPID returns the pid of a postgres server running in dir, or 0.
func postmasterPID(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil || pid <= 0 {
		return 0
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil || !strings.HasSuffix(exe, "/postgres") {
		return 0
	}
	return pid
}
