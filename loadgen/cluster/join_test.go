package cluster_test

import (
	"context"
	"errors"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/loadgen/cluster"
	"github.com/trendtactics/loadlab/loadgen/pipeline"
)

// TestWorkerRetriesJoin: a worker started before its coordinator listens (a Kubernetes
// Job's pods start in any order) keeps trying for its join timeout: it fails a first try,
// says so, joins once the coordinator listens on the address, and runs its share. Without
// a coordinator it gives up after the join timeout, having tried more than once, with an
// error naming the address, the timeout and the last cause; with no join timeout it tries
// once.
func TestWorkerRetriesJoin(t *testing.T) {
	path := scenario(t, 50, "1s")
	spec, data := loadSpec(t, path)
	// A loopback address nothing listens on (until the coordinator does, below).
	ln, err := cluster.ListenLocal()
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	token := cluster.NewToken()
	log := &testutil.Buffer{}
	worked := make(chan error, 1)
	go func() { // ends when the worker is done: the run below ends it
		worked <- cluster.RunWorker(context.Background(), cluster.WorkerConfig{Coordinator: addr, Token: token, Version: testVersion,
			Index: 0, Scenario: data, Path: path, Log: log, JoinTimeout: 2 * time.Minute})
	}()
	if err := waitFor(30*time.Second, func() bool { return strings.Contains(log.String(), "is not reachable") }); err != nil {
		t.Fatalf("the worker did not report a failed try:\n%s", log)
	}
	c, err := cluster.NewCoordinator(cluster.Config{Workers: 1, Token: token, Version: testVersion, Scenario: data, Path: path,
		JoinTimeout: time.Minute, Status: &testutil.Buffer{}})
	if err != nil {
		t.Fatal(err)
	}
	if ln, err = net.Listen("tcp", addr); err != nil {
		t.Fatalf("listen on %s again: %v", addr, err) // taken in between by another process
	}
	srv := cluster.NewServer(c, nil)
	go srv.Serve(ln) // ends at srv.Close
	t.Cleanup(func() { srv.Close() })
	tg := newTarget(t)
	res, err := pipeline.Run(context.Background(), spec, pipeline.Config{BaseURL: tg.URL, Seed: 7, MaxLateness: time.Second, Generator: c})
	if err != nil {
		t.Fatal(err)
	}
	if err := <-worked; err != nil {
		t.Errorf("the worker: %v\n%s", err, log)
	}
	if res.Generator.Sent != 50 || len(res.Workers) != 1 || res.Workers[0].Lost {
		t.Errorf("sent %d of 50 planned, workers %+v; want the late-joining worker's whole share", res.Generator.Sent, res.Workers)
	}
	if !regexp.MustCompile(`(?s)is not reachable.*joined `).MatchString(log.String()) {
		t.Errorf("the worker's log does not show a failed try, then the join:\n%s", log)
	}

	srv.Close() // nothing listens on addr again

	t.Run("gives up", func(t *testing.T) {
		for _, timeout := range []time.Duration{0, 500 * time.Millisecond} {
			err := cluster.RunWorker(context.Background(), cluster.WorkerConfig{Coordinator: addr, Token: token,
				Version: testVersion, Index: 0, JoinTimeout: timeout})
			m := regexp.MustCompile(`not reachable in ([^ ]+) \((\d+) tries, the join timeout\)`).FindStringSubmatch(errString(err))
			var re *cluster.RefusedError
			switch {
			case err == nil || !strings.Contains(err.Error(), "join the coordinator at "+addr) || errors.As(err, &re):
				t.Errorf("join timeout %s: %v; want a failure to reach %s", timeout, err, addr)
			case timeout == 0 && m != nil:
				t.Errorf("no join timeout: %v; want one try", err)
			case timeout > 0 && (m == nil || m[1] != timeout.String() || atoi(m[2]) < 2):
				t.Errorf("join timeout %s: %v; want the timeout and more than one try named", timeout, err)
			}
		}
	})
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}
