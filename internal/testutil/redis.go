package testutil

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/internal/rediscluster"
)

// StartRedis starts a throwaway redis-server, without persistence, on 127.0.0.1:port (a free
// port when port is 0) and returns its URL (redis://127.0.0.1:port/0) and process; the test
// may pause (SIGSTOP), kill and restart it. It is killed when the test ends. The test is
// skipped when redis-server is not installed. It returns once the server says it is ready;
// a free port that another process took before redis-server bound it (redis-server then
// exits) is replaced by another.
func StartRedis(t testing.TB, port int) (string, *exec.Cmd) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skipf("redis-server not installed (apt-get install redis-server): %v", err)
	}
	for attempt := 1; ; attempt++ {
		p := port
		if p == 0 {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			p = l.Addr().(*net.TCPAddr).Port
			l.Close()
		}
		addr := fmt.Sprintf("127.0.0.1:%d", p)
		cmd := exec.Command(bin, "--port", strconv.Itoa(p), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", t.TempDir())
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if redisReady(cmd, out) {
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			return "redis://" + addr + "/0", cmd
		}
		_ = cmd.Wait()
		if port != 0 || attempt == 5 {
			t.Fatalf("redis-server did not start on %s", addr)
		}
	}
}

// redisReady reads the server's log until it says it is ready (true), or until its end: the
// server exited, or was killed after 20 s without being ready (false). The rest of the log
// is read and dropped until the server exits.
func redisReady(cmd *exec.Cmd, out io.Reader) bool {
	slow := time.AfterFunc(20*time.Second, func() { _ = cmd.Process.Kill() })
	defer slow.Stop()
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if strings.Contains(sc.Text(), "Ready to accept connections") {
			go func() { _, _ = io.Copy(io.Discard, out) }() // ends when the server exits
			return true
		}
	}
	return false
}

// RedisNode is one node of a cluster from StartRedisCluster: its address and process, which
// the test may kill and restart (Restart: same flags, so it rejoins with its slots).
type RedisNode struct {
	Addr string
	Cmd  *exec.Cmd
	argv []string
}

// StartRedisCluster starts n redis-server nodes (internal/rediscluster.Args) on free ports
// and makes them one Redis Cluster, node i holding rediscluster.SlotRange(i, n). They are
// killed when the test ends. The test is skipped when redis-server is not installed.
func StartRedisCluster(t testing.TB, n int) []*RedisNode {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skipf("redis-server not installed (apt-get install redis-server): %v", err)
	}
	dir := t.TempDir()
	nodes := make([]*RedisNode, n)
	addrs := make([]string, n)
	for i := range nodes {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		nodes[i] = &RedisNode{Addr: fmt.Sprintf("127.0.0.1:%d", port), argv: append([]string{bin}, rediscluster.Args(port, dir, "64mb", "allkeys-lru")...)}
		nodes[i].Start(t)
		addrs[i] = nodes[i].Addr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := rediscluster.Create(ctx, addrs); err != nil {
		t.Fatal(err)
	}
	return nodes
}

// Start starts the node (again) and waits until it accepts connections; it is killed when
// the test ends.
func (r *RedisNode) Start(t testing.TB) {
	t.Helper()
	cmd := exec.Command(r.argv[0], r.argv[1:]...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Cmd = cmd
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", r.Addr)
		if err == nil {
			c.Close()
			return
		}
		if i > 200 {
			t.Fatalf("redis-server did not start on %s: %v", r.Addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Kill kills the node and waits for it.
func (r *RedisNode) Kill() { _ = r.Cmd.Process.Kill(); _ = r.Cmd.Wait() }
