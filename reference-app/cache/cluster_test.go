package cache_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/trendtactics/loadlab/internal/rediscluster"
	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/reference-app/cache"
)

// TestRedisCluster runs the cache over a real 3-node Redis Cluster: keys of every node are
// stored and read; one Delete of keys in different slots (CROSSSLOT for a plain DEL) removes
// them all; Clear empties every node. With one node killed, the keys of the other nodes are
// still served and the dead node's keys are misses, never errors to the caller.
func TestRedisCluster(t *testing.T) {
	nodes := testutil.StartRedisCluster(t, 3)
	ctx := context.Background()
	// A generous time-out: this test is about where keys go, not about a loaded machine.
	c, err := cache.NewRedisCluster([]string{nodes[0].Addr}, cache.RedisOptions{Prefix: "t:", Timeout: 2 * time.Second}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{nodes[0].Addr}})
	defer raw.Close()
	// nodeOf: the node index that holds key's slot (rediscluster.SlotRange).
	nodeOf := func(key string) int {
		slot, err := raw.ClusterKeySlot(ctx, "t:"+key).Result()
		if err != nil {
			t.Fatal(err)
		}
		for i := range nodes {
			if first, last := rediscluster.SlotRange(i, len(nodes)); int(slot) >= first && int(slot) <= last {
				return i
			}
		}
		t.Fatalf("slot %d of no node", slot)
		return -1
	}
	keys := map[int][]string{}
	for i := 0; len(keys[0]) < 3 || len(keys[1]) < 3 || len(keys[2]) < 3; i++ {
		k := fmt.Sprintf("k%d", i)
		keys[nodeOf(k)] = append(keys[nodeOf(k)], k)
		c.Set(ctx, k, []byte(k), time.Hour)
	}
	for n, ks := range keys {
		for _, k := range ks {
			if v, ok := c.Get(ctx, k); !ok || string(v) != k {
				t.Fatalf("node %d key %s: %q %v", n, k, v, ok)
			}
		}
	}
	c.Delete(ctx, keys[0][0], keys[1][0], keys[2][0])
	for n := range keys {
		if _, ok := c.Get(ctx, keys[n][0]); ok {
			t.Fatalf("key %s of node %d survived a Delete across slots", keys[n][0], n)
		}
	}
	c.Clear(ctx)
	for n := range keys {
		if _, ok := c.Get(ctx, keys[n][1]); ok {
			t.Fatalf("key %s of node %d survived Clear", keys[n][1], n)
		}
	}
	for _, ks := range keys {
		for _, k := range ks {
			c.Set(ctx, k, []byte(k), time.Hour)
		}
	}

	nodes[2].Kill()
	for n := range 2 {
		if v, ok := c.Get(ctx, keys[n][2]); !ok || string(v) != keys[n][2] {
			t.Fatalf("with node 3 dead, key %s of live node %d: %q %v", keys[n][2], n+1, v, ok)
		}
	}
	if _, ok := c.Get(ctx, keys[2][2]); ok {
		t.Fatal("a key of the dead node was served")
	}
}
