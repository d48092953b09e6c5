package chaos_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/trendtactics/loadlab/chaos"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// restarter is an Injector that reports a restart 300 ms after its injection, as a
// process.kill with restart-after does.
type restarter struct{ report func(kind, detail string) }

var _ chaos.EventReporter = (*restarter)(nil)

func (r *restarter) ReportEvents(report func(kind, detail string)) { r.report = report }

func (r *restarter) Inject(ctx context.Context) error {
	// Ends after its two reports; the timeline's Run waits for the fault's end past them.
	go func() {
		time.Sleep(300 * time.Millisecond)
		r.report(result.EventProcessStarted, "postgres")
		time.Sleep(200 * time.Millisecond)
		r.report(result.EventProcessReady, "postgres")
	}()
	return nil
}

func (r *restarter) Rollback(ctx context.Context) error { return nil }

type oneResolver struct{ inj chaos.Injector }

func (o oneResolver) Resolve(*scenarios.Fault) (chaos.Injector, error) { return o.inj, nil }

func TestTimelineRecordsReportedEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &scenarios.Fault{Name: "kill-db", Kind: "process.kill", Target: "database", At: time.Second, Duration: 2 * time.Second}
		tl, err := chaos.NewTimeline([]*scenarios.Fault{f}, oneResolver{&restarter{}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := tl.Run(context.Background(), time.Now()); err != nil {
			t.Fatal(err)
		}
		want := []chaos.Event{
			{At: time.Second, Kind: result.EventFaultStart, Fault: "kill-db", Detail: "process.kill on database"},
			{At: 1300 * time.Millisecond, Kind: result.EventProcessStarted, Fault: "kill-db", Detail: "postgres"},
			{At: 1500 * time.Millisecond, Kind: result.EventProcessReady, Fault: "kill-db", Detail: "postgres"},
			{At: 3 * time.Second, Kind: result.EventFaultEnd, Fault: "kill-db"},
		}
		got := tl.Events()
		if len(got) != len(want) {
			t.Fatalf("events %+v, want %+v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
			}
		}
	})
}
