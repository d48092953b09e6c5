package testutil

import (
	"bufio"
	"os/exec"
	"strings"
	"testing"
)

// StartLine starts cmd (a child the test will kill, often the test binary itself re-run
// with an environment variable) with its stdout piped and returns the first line it
// writes, trimmed of white space. If it cannot start or ends before a whole line, it is
// killed and the test fails. It is killed, if still running, when the test ends.
func StartLine(t testing.TB, cmd *exec.Cmd) string {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("%s: no first line (%v); it wrote %q", cmd.Path, err, line)
	}
	return strings.TrimSpace(line)
}
