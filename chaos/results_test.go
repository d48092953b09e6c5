package chaos_test

import (
	"testing"
	"time"

	"github.com/trendtactics/loadlab/chaos"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

func TestResults(t *testing.T) {
	faults := []*scenarios.Fault{
		{Name: "slow-db", Kind: scenarios.FaultNetworkDelay, Target: "database", At: 10 * time.Second, Duration: 5 * time.Second},
		{Name: "kill", Kind: scenarios.FaultProcessKill, Target: "app", At: 20 * time.Second, Duration: 2 * time.Second},
		{Name: "late", Kind: scenarios.FaultNetworkDown, Target: "cache", At: 90 * time.Second, Duration: time.Second},
		{Name: "broken", Kind: scenarios.FaultHTTPAbort, Target: "app", At: 30 * time.Second, Duration: time.Second},
	}
	events := []chaos.Event{
		{At: 10100 * time.Millisecond, Kind: result.EventFaultStart, Fault: "slow-db", Detail: "network.delay on database"},
		{At: 15200 * time.Millisecond, Kind: result.EventFaultEnd, Fault: "slow-db"},
		{At: 20 * time.Second, Kind: result.EventFaultStart, Fault: "kill"},
		{At: 21 * time.Second, Kind: result.EventProcessStarted, Fault: "kill", Detail: "postgres"},
		{At: 21500 * time.Millisecond, Kind: result.EventProcessReady, Fault: "kill", Detail: "postgres"},
		{At: 22 * time.Second, Kind: result.EventFaultError, Fault: "kill", Detail: "rollback: restart failed"},
		{At: 30 * time.Second, Kind: result.EventFaultError, Fault: "broken", Detail: "admin api: 404"},
	}
	evs, got := chaos.Results(faults, events)
	if len(evs) != len(events) || evs[0].At != 10.1 || evs[0].Name != "slow-db" || evs[0].Kind != result.EventFaultStart {
		t.Errorf("events %+v", evs)
	}
	want := []result.FaultResult{
		{Name: "slow-db", Kind: "network.delay", Target: "database", Start: 10.1, End: 15.2, Injected: true, RecoveryS: -1},
		{Name: "kill", Kind: "process.kill", Target: "app", Start: 20, End: 22, Injected: true, Error: "rollback: restart failed", RecoveryS: -1,
			ReadyS: 21.5, TimeToRestartS: 1.5},
		{Name: "late", Kind: "network.down", Target: "cache", Start: 90, End: 91, Error: "not reached before the run ended", RecoveryS: -1},
		{Name: "broken", Kind: "http.abort", Target: "app", Start: 30, End: 30, Error: "admin api: 404", RecoveryS: -1},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d fault results, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("fault %d:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
}
