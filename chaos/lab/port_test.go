package lab

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/internal/testutil"
)

// TestRedisStartTriesATakenPortAgain: the port chosen free for the lab's Redis is taken by
// another process before redis-server binds it (a connection's ephemeral port, another
// test's server): redis-server exits, and the lab starts it again on another port. Before,
// the lab failed to start ("redis exited before it was ready").
func TestRedisStartTriesATakenPortAgain(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skipf("redis-server not installed: %v", err)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	port := taken.Addr().(*net.TCPAddr).Port
	calls := 0
	pickPort = func() (int, error) {
		calls++
		if calls == 1 {
			return port, nil
		}
		return freePort()
	}
	defer func() { pickPort = freePort }()
	log := &testutil.Buffer{}
	l := &Lab{cfg: Config{Log: log}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := l.startRedis(ctx); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	defer func() {
		_ = l.redis.stop(context.Background(), 5*time.Second)
		_ = l.cacheProxy.Close()
	}()
	if calls != 2 || strings.Contains(strings.Join(l.redis.argv, " "), "--port "+strconv.Itoa(port)+" ") {
		t.Fatalf("%d ports picked, redis started as %q (the taken port %d)", calls, l.redis.argv, port)
	}
	c, err := net.Dial("tcp", l.cacheProxy.Addr())
	if err != nil {
		t.Fatalf("the cache proxy does not answer: %v", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "+PONG\r\n" {
		t.Fatalf("PING through the cache proxy: %q, %v", buf[:n], err)
	}
}
