package testutil_test

import (
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/internal/testutil"
)

// TestProcState follows a child through its states: running (or sleeping), stopped, a
// zombie once killed and not yet waited for, gone once waited for. Each state is waited
// for (a signal takes effect asynchronously), within a bound that only a broken helper
// reaches.
func TestProcState(t *testing.T) {
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	defer cmd.Process.Kill()
	if !testutil.Running(pid) {
		t.Fatalf("a started child is not running (state %q)", testutil.ProcState(pid))
	}
	waitState := func(want string) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for testutil.ProcState(pid) != want {
			if time.Now().After(deadline) {
				t.Fatalf("state %q, want %q", testutil.ProcState(pid), want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	syscall.Kill(pid, syscall.SIGSTOP)
	waitState("T")
	if !testutil.Running(pid) {
		t.Errorf("a stopped child is not running: it still exists and holds what it held")
	}
	syscall.Kill(pid, syscall.SIGKILL)
	waitState("Z")
	if testutil.Running(pid) {
		t.Errorf("a zombie counts as running")
	}
	cmd.Wait()
	if s := testutil.ProcState(pid); s != "" {
		t.Errorf("a reaped child's state %q, want none", s)
	}
}

// TestSharedMemory makes a segment with ipcmk (util-linux) and sees it, then not once
// removed.
func TestSharedMemory(t *testing.T) {
	if testutil.SharedMemory("-1") {
		t.Errorf("segment -1 reported as existing")
	}
	if _, err := exec.LookPath("ipcmk"); err != nil {
		t.Skip("ipcmk is not installed")
	}
	out, err := exec.Command("ipcmk", "-M", "1024").Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out)) // "Shared memory id: 5046283"
	if len(f) == 0 {
		t.Fatalf("ipcmk said %q", out)
	}
	id := f[len(f)-1]
	if _, err := strconv.Atoi(id); err != nil {
		t.Fatalf("ipcmk said %q: no segment id", out)
	}
	if !testutil.SharedMemory(id) {
		t.Errorf("segment %s not seen", id)
	}
	if err := exec.Command("ipcrm", "-m", id).Run(); err != nil {
		t.Fatal(err)
	}
	if testutil.SharedMemory(id) {
		t.Errorf("segment %s seen after its removal", id)
	}
}
