package lab_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trendtactics/loadlab/chaos/lab"
	"github.com/trendtactics/loadlab/scenarios"
)

// TestLabRedisCluster starts a lab whose cache is a 3-node Redis Cluster: the academy's
// cache entries land on the cluster; with one node killed (process.kill on the cache, mode
// one) the academy keeps answering, and the node restarts and rejoins with its slots.
func TestLabRedisCluster(t *testing.T) {
	l := startLab(t, lab.Config{Replicas: 1, Cache: "redis-cluster", Seed: scenarios.LabSeed{Users: 5, Courses: 20, Seed: 7}})
	addrs := l.RedisClusterAddrs()
	if len(addrs) != lab.RedisClusterNodes || len(l.PIDs()) != 2+lab.RedisClusterNodes {
		t.Fatalf("addrs %v, pids %v: want 3 nodes running", addrs, l.PIDs())
	}
	for i := 1; i <= 20; i++ {
		if code, _ := get(t, l.URL()+"/v1/courses/course-"+itoa(i)); code != 200 {
			t.Fatalf("course-%d: %d", i, code)
		}
	}
	ctx := context.Background()
	keysPerNode := func() []int64 {
		var n []int64
		for _, a := range addrs {
			c := redis.NewClient(&redis.Options{Addr: a})
			k, _ := c.DBSize(ctx).Result()
			c.Close()
			n = append(n, k)
		}
		return n
	}
	spread := keysPerNode()
	for i, k := range spread {
		if k == 0 {
			t.Fatalf("node %d holds no key of the academy's 20 courses: %v", i+1, spread)
		}
	}
	fault, err := l.Resolve(&scenarios.Fault{Name: "node-down", Kind: scenarios.FaultProcessKill, Target: "cache",
		Mode: "one", Params: map[string]string{"restart-after": "1s"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := fault.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := l.PIDs()["redis-1"]; ok {
		t.Fatalf("redis-1 still runs after the kill: %v", l.PIDs())
	}
	for i := 1; i <= 20; i++ {
		if code, _ := get(t, l.URL()+"/v1/courses/course-"+itoa(i)); code != 200 {
			t.Fatalf("with a cache node down, course-%d: %d", i, code)
		}
	}
	if err := fault.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: addrs[0]})
	defer c.Close()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		info, err := c.ClusterInfo(ctx).Result()
		if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_slots_assigned:16384") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the restarted node did not rejoin: %q %v", info, err)
		}
	}
}

func itoa(i int) string { return fmt.Sprint(i) }
