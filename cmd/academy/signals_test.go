package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/internal/testutil/pgtest"
)

// academyBinary builds this command once for the tests that need a real process (signals).
func academyBinary(t *testing.T) string {
	t.Helper()
	return filepath.Join(testutil.Build(t, "."), "academy")
}

// TestPostgresSurvivesARepeatedSIGTERM sends `academy postgres --dir D` two SIGTERMs 8 ms
// apart, as the parent-death signal of a killed harness does: the server must still be
// stopped, its directory removed and its shared memory freed. Before the fix the default
// action, restored after the first signal, killed the command before it cleaned up in
// about two runs of three, so the test tries three times.
func TestPostgresSurvivesARepeatedSIGTERM(t *testing.T) {
	pgtest.NeedPostgres(t)
	bin := academyBinary(t)
	for i := range 3 {
		// Not under t.TempDir(): as root, the server runs as postgres, which must reach it.
		dir := filepath.Join(os.TempDir(), fmt.Sprintf("academy-signals-test-%d-%d", os.Getpid(), i))
		t.Cleanup(func() { os.RemoveAll(dir) })
		cmd := exec.Command(bin, "postgres", "--dir", dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "DATABASE_URL=") {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("academy postgres said %q, %v", line, err)
		}
		postmaster, shmid := testutil.PostmasterLock(t, filepath.Join(dir, "data"))
		cmd.Process.Signal(syscall.SIGTERM)
		time.Sleep(8 * time.Millisecond)
		cmd.Process.Signal(syscall.SIGTERM)
		err = cmd.Wait()
		if err != nil {
			t.Errorf("run %d: academy postgres after two SIGTERMs: %v; want a clean exit", i, err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("run %d: cluster directory left behind (%v)", i, err)
			syscall.Kill(-postmaster, syscall.SIGKILL)
		}
		if testutil.Running(postmaster) {
			t.Errorf("run %d: postmaster %d still runs", i, postmaster)
		}
		if testutil.SharedMemory(shmid) {
			t.Errorf("run %d: shared memory segment %s left behind", i, shmid)
		}
	}
}

// TestServeWithoutCache checks that --cache none means no cache, not an in-process one.
func TestServeWithoutCache(t *testing.T) {
	pgtest.NeedPostgres(t)
	for _, c := range []struct{ flag, want string }{{"none", "cache=none"}, {"memory", "cache=memory"}} {
		line, stop, stderr := start(t, "serve", "--addr", "127.0.0.1:0", "--no-seed", "--cache", c.flag)
		if !strings.HasPrefix(line, "listening on ") {
			t.Fatalf("--cache %s: first line %q", c.flag, line)
		}
		if code := stop(); code != 0 {
			t.Fatalf("--cache %s: exit %d: %s", c.flag, code, stderr)
		}
		if !strings.Contains(stderr.String(), c.want) {
			t.Errorf("--cache %s: the academy logged no %s: %s", c.flag, c.want, stderr)
		}
	}
}
