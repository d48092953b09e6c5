package testutil

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// builds are the binaries built by Build in this test process, by package list.
var builds sync.Map // string → *build

type build struct {
	once sync.Once
	dir  string
	err  error
}

// Build builds the packages' commands (import paths, or paths relative to the test's
// directory) once per test process into a temporary directory and returns it; each binary
// is there under its command's name. The directory lives as long as the process: the
// binaries are shared by every test that asks for the same packages.
func Build(t testing.TB, pkgs ...string) string {
	t.Helper()
	v, _ := builds.LoadOrStore(strings.Join(pkgs, " "), &build{})
	b := v.(*build)
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "testutil-build-"); b.err != nil {
			return
		}
		args := append([]string{"build", "-o", b.dir + string(os.PathSeparator)}, pkgs...)
		if out, err := exec.Command("go", args...).CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build %s: %v\n%s", strings.Join(pkgs, " "), err, out)
		}
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.dir
}

// DeadPID returns the process id of a process that has ended (and been reaped): an owner
// that is gone, for tests of what is left behind by dead processes.
func DeadPID(t testing.TB) int {
	t.Helper()
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	return dead.Process.Pid
}
