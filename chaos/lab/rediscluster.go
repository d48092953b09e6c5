package lab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/trendtactics/loadlab/internal/rediscluster"
)

// RedisClusterNodes is the number of nodes of the lab's Redis Cluster (cache: redis-cluster).
const RedisClusterNodes = 3

// startRedisCluster starts RedisClusterNodes redis-server nodes, each with RedisMaxMemory
// and RedisMaxMemoryPolicy, keeping their nodes files in a directory of the lab's (a killed
// node restarts with its slots), and makes them one cluster, node i holding
// rediscluster.SlotRange(i, n). The academy replicas reach the nodes directly, not through
// the cache proxy: a cluster's clients follow the addresses the nodes announce.
func (l *Lab) startRedisCluster(ctx context.Context) error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return errors.New("lab: the scenario asks for cache: redis-cluster, but redis-server is not installed; install it with `apt-get install redis-server` or use cache: memory")
	}
	l.redisDir = filepath.Join(os.TempDir(), "loadlab-redis-"+randomToken()[:12])
	l.guard.Dir(l.redisDir)
	if err := os.MkdirAll(l.redisDir, 0o700); err != nil {
		return fmt.Errorf("lab: redis cluster: %w", err)
	}
	for i := range RedisClusterNodes {
		// A node also binds its cluster bus port, port + 10000: either taken, another port.
		p, port, err := l.startOnFreePort(ctx, func(port int) *process {
			return &process{name: fmt.Sprintf("redis-%d", i+1), log: l.cfg.Log, guard: l.guard,
				argv:  append([]string{bin}, rediscluster.Args(port, l.redisDir, RedisMaxMemory, RedisMaxMemoryPolicy)...),
				ready: func(line string) bool { return strings.Contains(line, "Ready to accept connections") }}
		})
		if err != nil {
			return fmt.Errorf("lab: redis cluster node %d: %w", i+1, err)
		}
		l.redisNodes = append(l.redisNodes, p)
		l.redisClusterAddrs = append(l.redisClusterAddrs, fmt.Sprintf("127.0.0.1:%d", port))
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := rediscluster.Create(cctx, l.redisClusterAddrs); err != nil {
		return fmt.Errorf("lab: redis cluster: %w", err)
	}
	l.status("redis cluster ready: %s", strings.Join(l.redisClusterAddrs, ", "))
	return nil
}

// RedisClusterAddrs are the addresses of the Redis Cluster's nodes (cache: redis-cluster).
func (l *Lab) RedisClusterAddrs() []string { return clone(l.redisClusterAddrs) }
