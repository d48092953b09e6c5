package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// This file reads what the tests of "nothing is left behind" look for, from Linux's /proc:
// a process's state, a System V shared memory segment, a PostgreSQL server's lock file.

// ProcState returns the state letter of process pid (R, S, T, Z, ...), or "" when there is
// no such process.
func ProcState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// Running reports whether process pid runs: it exists and is not a zombie (dead, not yet
// reaped by its parent or init, which holds no port and no memory).
func Running(pid int) bool {
	s := ProcState(pid)
	return s != "" && s != "Z"
}

// SharedMemory reports whether the System V shared memory segment shmid exists
// (/proc/sysvipc/shm lists it).
func SharedMemory(shmid string) bool {
	b, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(b)) {
		if f := strings.Fields(line); len(f) > 1 && f[1] == shmid {
			return true
		}
	}
	return false
}

// PostmasterLock reads the postmaster.pid of the PostgreSQL data directory dataDir: the
// postmaster's pid (line 1) and the id of its shared memory segment (line 7, "key shmid").
// The test fails if the file is missing or not of that shape.
func PostmasterLock(t testing.TB, dataDir string) (pid int, shmid string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 7 {
		t.Fatalf("%s/postmaster.pid has %d lines, want 7 or more:\n%s", dataDir, len(lines), b)
	}
	pid, err = strconv.Atoi(strings.TrimSpace(lines[0]))
	f := strings.Fields(lines[6])
	if err != nil || len(f) != 2 {
		t.Fatalf("%s/postmaster.pid: no pid on line 1 or no \"key shmid\" on line 7:\n%s", dataDir, b)
	}
	return pid, f[1]
}
