// Command harness starts a lab through package chaos/lab, optionally injects one fault (and
// rolls it back), prints "go" and waits to be killed: the leftover tests kill it with SIGKILL
// before, during or after a fault and look for anything of the lab that outlived it.
//
//	harness -academy BIN [-cache redis] [-db-replicas N] [-kind K -target T -params k=v,... -phase before|during|after]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/trendtactics/loadlab/chaos/lab"
	"github.com/trendtactics/loadlab/scenarios"
)

func main() { os.Exit(run()) }

func run() int {
	academy := flag.String("academy", "", "academy binary")
	cache := flag.String("cache", "memory", "redis, memory or none")
	kind := flag.String("kind", "", "fault kind (none: no fault)")
	target := flag.String("target", "", "fault target")
	params := flag.String("params", "", "fault params, k=v,k=v")
	phase := flag.String("phase", "before", "before, during or after the fault")
	dbReplicas := flag.Int("db-replicas", 0, "read replicas of the database")
	flag.Parse()
	ctx := context.Background()
	l, err := lab.Start(ctx, lab.Config{Replicas: 1, Cache: *cache, DBReplicas: *dbReplicas, Academy: []string{*academy}, Log: os.Stderr})
	if err != nil {
		fmt.Println("error:", err)
		return 1
	}
	if *kind != "" && *phase != "before" {
		f := &scenarios.Fault{Name: "f", Kind: *kind, Target: *target, Toxicity: 1, Duration: time.Hour, Params: map[string]string{}}
		for kv := range strings.SplitSeq(*params, ",") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				f.Params[k] = v
			}
		}
		inj, err := l.Resolve(f)
		if err == nil {
			err = inj.Inject(ctx)
		}
		if err == nil && *phase == "after" {
			err = inj.Rollback(ctx)
		}
		if err != nil {
			fmt.Println("error:", err)
			l.Stop(ctx)
			return 1
		}
	}
	fmt.Println("go")
	time.Sleep(time.Hour) // until killed
	return 0
}
