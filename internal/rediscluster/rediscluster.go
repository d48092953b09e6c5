// Package rediscluster makes a Redis Cluster of redis-server processes that someone else
// runs (the lab, a test): Args gives each node's flags, Create assigns the 16384 hash slots
// evenly (node i of n holds [i·16384/n, (i+1)·16384/n)), introduces the nodes to each other
// (CLUSTER MEET) and waits until every node reports cluster_state:ok with every slot known. A node restarted
// with the same flags reads its nodes file back and rejoins with its slots.
package rediscluster

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Slots is the number of hash slots of a Redis Cluster.
const Slots = 16384

// Args are the redis-server flags of a cluster node on 127.0.0.1:port keeping its nodes
// file in dir, without persistence of the data, bounded to maxmemory with policy. Its slots
// keep being served when another node is down (cluster-require-full-coverage no): a cache
// loses the keys of a dead node, not all of them.
func Args(port int, dir, maxmemory, policy string) []string {
	return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
		"--cluster-enabled", "yes", "--cluster-config-file", "nodes-" + strconv.Itoa(port) + ".conf",
		"--cluster-node-timeout", "2000", "--cluster-require-full-coverage", "no",
		"--save", "", "--appendonly", "no", "--protected-mode", "yes",
		"--maxmemory", maxmemory, "--maxmemory-policy", policy}
}

// SlotRange is the range of slots [First, Last] that Create gives node i of n.
func SlotRange(i, n int) (first, last int) { return i * Slots / n, (i+1)*Slots/n - 1 }

// Create makes one cluster of the nodes at addrs (host:port, running with Args).
func Create(ctx context.Context, addrs []string) error {
	clients := make([]*redis.Client, len(addrs))
	for i, a := range addrs {
		clients[i] = redis.NewClient(&redis.Options{Addr: a, MaxRetries: -1})
		defer clients[i].Close()
	}
	for i, c := range clients {
		first, last := SlotRange(i, len(addrs))
		if err := c.ClusterAddSlotsRange(ctx, first, last).Err(); err != nil {
			return fmt.Errorf("node %s: add slots %d-%d: %w", addrs[i], first, last, err)
		}
	}
	for i, a := range addrs[1:] {
		host, port, _ := net.SplitHostPort(a)
		if err := clients[0].ClusterMeet(ctx, host, port).Err(); err != nil {
			return fmt.Errorf("node %s: meet %s: %w", addrs[0], addrs[i+1], err)
		}
	}
	for i, c := range clients {
		for {
			info, err := c.ClusterInfo(ctx).Result()
			// Every node knows every other and every slot's owner (with
			// cluster-require-full-coverage no, cluster_state is ok before that).
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(len(addrs))) &&
				strings.Contains(info, "cluster_slots_ok:"+strconv.Itoa(Slots)) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("node %s did not report the cluster ok: %v (%w)", addrs[i], err, ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}
