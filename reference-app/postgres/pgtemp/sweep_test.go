package pgtemp_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/reference-app/postgres/pgtemp"
)

// A cluster that an older lab left when it was killed during a pause: its owner is dead,
// the postmaster and its backends are stopped, and its shared memory segment is attached.
// The sweep of a later start ends them all, frees the segment and removes the directory.
func TestSweepEndsStoppedServersOfDeadOwners(t *testing.T) {
	if _, err := pgtemp.FindBinDir(); errors.Is(err, pgtemp.ErrNotInstalled) {
		t.Skip(err)
	}
	prefix := filepath.Join(os.TempDir(), fmt.Sprintf("pgtemp-sweep-test-%d-", os.Getpid()))
	dir := prefix + "a"
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := pgtemp.Start(ctx, pgtemp.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	postmaster, shmid := testutil.PostmasterLock(t, filepath.Join(dir, "data"))
	// Another process of the directory, stopped too (an `academy postgres` wrapper, say).
	sleeper := exec.Command("sleep", "600")
	sleeper.Dir = dir
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer sleeper.Wait()
	procs := append(children(postmaster), postmaster, sleeper.Process.Pid)
	for _, pid := range procs {
		syscall.Kill(pid, syscall.SIGSTOP)
	}
	// The owner is dead.
	if err := os.WriteFile(filepath.Join(dir, "owner"), fmt.Appendf(nil, "%d 1\n", testutil.DeadPID(t)), 0o644); err != nil {
		t.Fatal(err)
	}

	removed := pgtemp.SweepStale(prefix + "*")
	if !slices.Contains(removed, dir) {
		t.Errorf("SweepStale = %v, want it to remove %s", removed, dir)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("directory left behind (%v)", err)
	}
	for _, pid := range procs {
		if testutil.Running(pid) {
			t.Errorf("process %d of the stale cluster left in state %s", pid, testutil.ProcState(pid))
		}
	}
	if testutil.SharedMemory(shmid) {
		t.Errorf("shared memory segment %s left behind", shmid)
	}
}

// A cluster whose server was killed restarts in its directory without waiting for the
// killed processes to be reaped, and its old shared memory segment is freed.
func TestRestartAfterKill(t *testing.T) {
	if _, err := pgtemp.FindBinDir(); errors.Is(err, pgtemp.ErrNotInstalled) {
		t.Skip(err)
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("pgtemp-restart-test-%d", os.Getpid()))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c, err := pgtemp.Start(ctx, pgtemp.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, shmid := testutil.PostmasterLock(t, filepath.Join(dir, "data"))
	c.Kill()
	again, err := pgtemp.Start(ctx, pgtemp.Options{Dir: dir, Port: c.Port()})
	if err != nil {
		c.Stop()
		t.Fatalf("restart in %s: %v", dir, err)
	}
	if testutil.SharedMemory(shmid) {
		t.Errorf("the killed server's shared memory segment %s is left", shmid)
	}
	if err := again.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("directory left behind (%v)", err)
	}
}

// children returns the pids whose parent is pid.
func children(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", n))
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, n)
		}
	}
	return out
}
