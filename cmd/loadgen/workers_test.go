package main

import (
	"bufio"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/result"
)

// workersScale shortens the shipped scenarios for TestShippedWithWorkers to a tenth of
// their length (TestDrills runs them at a quarter in one process): the set then adds about
// two minutes to make test, most of it the labs' starts. db-outage runs at a quarter: its
// mechanism is answers delayed (lost-answers, 4 s at full length) past a client timeout
// that does not scale, which a tenth-length fault window is too short to produce.
// calibrate and overload run at a quarter too: their capacity ramps take three seconds in a
// row within the objective to find a knee, which a 3-4 s ramp gives one chance at (a busy
// machine missed it).
const workersScale = "0.1"

var workersScaleOf = map[string]string{"db-outage": drillScale, "calibrate": drillScale, "overload": drillScale}

// scaleBound are, per scenario, the thresholds a tenth-length run on a shared 2-core
// machine cannot be held to: judged at a quarter by TestDrills and at full length by make
// drills, reported here.
var scaleBound = map[string][]string{
	// Its spike (500 iterations/s) exceeds what the lab's academy serves on a shared 2-core
	// machine: the excess is shed (429, 503), in one process as with workers (measured: 23 %
	// and 1 % of the answers). Its error and availability bounds are the machine's.
	"enroll-spike": {"errors", "availability"},
	// The kill's window holds about 50 requests at a tenth: one failure is 2 %.
	"replica-kill": {"availability", "availability{window:kill-replica}"},
	// The slowed database's window is 2 s at a tenth: the queue that sheds barely fills.
	"slow-db": {"shed{window:slow-db}"},
}

// TestShippedWithWorkers runs the shipped scenarios (scenarios/*.yaml and the drills)
// with --workers 2, shortened, each in its own lab (smoke.yaml, which has a URL target,
// against an academy of its own), and judges them as TestDrills judges a run in one
// process: the same verdict (PASS, or FAIL on latency bounds only), the same mechanism
// (faults injected with their recovery measured, no write lost, seat-rush's 50 seats, the
// db-outage figures), and both workers held their share (none lost, each valid).
// browse-soak (30 minutes) and live-class (its connections are held for a minute at any
// scale) are left to make drills; a scenario --workers refuses as not possible yet (a
// usage error "... yet: ...") is skipped, naming why.
func TestShippedWithWorkers(t *testing.T) {
	loadgenBin, academyBin := binaries(t)
	shipped, _ := filepath.Glob("../../scenarios/*.yaml")
	drills, _ := filepath.Glob("../../scenarios/drills/*.yaml")
	files := append(shipped, drills...)
	if len(shipped) == 0 || len(drills) == 0 {
		t.Fatalf("no shipped scenarios: %v", files)
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		if name == "browse-soak" || name == "live-class" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			scale := workersScale
			if sc, ok := workersScaleOf[name]; ok {
				scale = sc
			}
			args := []string{"--workers", "2", "--time-scale", scale}
			var (
				code   int
				res    *result.Result
				output string
			)
			if name == "smoke" { // a URL target: an academy of its own
				code, res, output = runLoadgen(t, loadgenBin, append([]string{"run", file, "--out", t.TempDir(),
					"--max-lateness", "2s", "--target", startAcademy(t, academyBin)}, args...)...)
			} else {
				code, res, output = runLab(t, file, args...)
			}
			judgeDrill(t, name, code, res, output, scaleBound[name]...)
			if len(res.Workers) != 2 {
				t.Fatalf("%d workers in the result, want 2\n%s", len(res.Workers), output)
			}
			var sent uint64
			for _, w := range res.Workers {
				// A worker's share may be empty (calibrate's light load is one iteration at a tenth).
				if w.Lost || !w.Valid || (w.Planned > 0 && w.Sent == 0) {
					t.Errorf("worker %d: %+v; want it valid, not lost, having sent its share", w.Index, w)
				}
				sent += w.Sent
			}
			if sent == 0 {
				t.Errorf("the workers sent nothing: %+v", res.Workers)
			}
		})
	}
}

// startAcademy starts `academy serve` on a free loopback port (on a throwaway PostgreSQL)
// and returns its URL; it is stopped with SIGTERM (which removes its PostgreSQL) when the
// test ends.
func startAcademy(t *testing.T, academyBin string) string {
	t.Helper()
	cmd := exec.Command(academyBin, "serve", "--addr", "127.0.0.1:0", "--bcrypt-cost", "4")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { // ends when the academy exits
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if err != nil || !ok {
		t.Fatalf("academy serve: no address (%v); it wrote %q", err, line)
	}
	return url
}
