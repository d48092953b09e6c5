package testutil

import (
	"net"
	"os/exec"
	"strconv"
	"testing"
)

// TestRedisOnATakenPortIsNotReady: a redis-server whose port another process holds exits,
// and is not taken for ready. Before, StartRedis dialled the port until something answered:
// the other process did, and the test went on against it.
func TestRedisOnATakenPortIsNotReady(t *testing.T) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skipf("redis-server not installed: %v", err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(taken.Addr().(*net.TCPAddr).Port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if redisReady(cmd, out) {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatal("redis-server on a taken port was taken for ready")
	}
	_ = cmd.Wait()
	// And on a free one, it is ready.
	url, _ := StartRedis(t, 0)
	if url == "" {
		t.Fatal("no URL")
	}
}
