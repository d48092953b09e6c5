package lab_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/chaos"
	"github.com/trendtactics/loadlab/chaos/lab"
	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// TestDatabaseKillReportsItsRestart kills the lab's PostgreSQL through a timeline, with
// restart-after 1s: the timeline's events say when it was started again and when it was
// ready, and the restart happens when it was asked, not when the killed processes are
// reaped (the init process of a container may take seconds; the lab once waited for it
// and restarted a database 2.35 s late).
func TestDatabaseKillReportsItsRestart(t *testing.T) {
	l := startLab(t, lab.Config{Replicas: 1, Cache: "memory"})
	const restartAfter = time.Second
	f := &scenarios.Fault{Name: "kill-db", Kind: "process.kill", Target: "database", Duration: 3 * time.Second,
		Params: map[string]string{"restart-after": restartAfter.String()}}
	tl, err := chaos.NewTimeline([]*scenarios.Fault{f}, l, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tl.Run(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	at := map[string]time.Duration{}
	for _, e := range tl.Events() {
		if e.Fault != "kill-db" {
			t.Errorf("event %+v names another fault", e)
		}
		if (e.Kind == result.EventProcessStarted || e.Kind == result.EventProcessReady) && e.Detail != "postgres" {
			t.Errorf("event %+v: detail %q, want the process, postgres", e, e.Detail)
		}
		if _, dup := at[e.Kind]; dup {
			t.Errorf("event %s twice: %+v", e.Kind, tl.Events())
		}
		at[e.Kind] = e.At
	}
	start, okStart := at[result.EventFaultStart]
	started, okStarted := at[result.EventProcessStarted]
	ready, okReady := at[result.EventProcessReady]
	if !okStart || !okStarted || !okReady {
		t.Fatalf("events %+v: want fault.start, process.started and process.ready", tl.Events())
	}
	t.Logf("killed at %v; started again %v later (restart-after %v), ready %v after that",
		start, started-start, restartAfter, ready-started)
	// Started by restart-after, not before it and not at the fault's end (3 s): how soon after
	// 1 s, and how long PostgreSQL takes to be ready, is the machine's (logged above; on a
	// quiet machine milliseconds, and well under a second).
	if d := started - start; d < restartAfter || d >= f.Duration {
		t.Errorf("process.started %v after the kill, want restart-after %v, before the fault's end %v", d, restartAfter, f.Duration)
	}
	if d := ready - started; d < 0 {
		t.Errorf("process.ready %v after process.started, want after it", d)
	}
	if code, _ := login(t, l.URL()); code != 200 && code != 401 {
		t.Errorf("the academy after the restart answers a login with %d", code)
	}
}

// TestCacheNoneMeansNoCache: `cache: none` runs the academy without any cache, not with
// its in-process one.
func TestCacheNoneMeansNoCache(t *testing.T) {
	var log testutil.Buffer
	l, err := lab.Start(context.Background(), lab.Config{Replicas: 1, Cache: "none", Academy: []string{academyBin}, Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	l.Stop(context.Background())
	var serving string
	for line := range strings.Lines(log.String()) {
		if strings.Contains(line, `msg=serving`) {
			serving = line
		}
	}
	if !strings.Contains(serving, "cache=none") {
		t.Errorf("the academy of a lab with cache: none logged %q, want cache=none", serving)
	}
}
