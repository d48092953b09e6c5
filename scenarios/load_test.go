package scenarios_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/scenarios"
)

// TestBadFixtures loads each testdata/*.bad.yaml and compares every problem
// with the file's "# want: line:col: field: message" header lines, in order.
func TestBadFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.bad.yaml")
	if len(files) == 0 {
		t.Fatal("no bad fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			var rest []string
			for _, line := range strings.SplitAfter(string(data), "\n") {
				if w, ok := strings.CutPrefix(line, "# want: "); ok && len(rest) == 0 {
					want = append(want, strings.TrimRight(w, "\n"))
					continue
				}
				rest = append(rest, line)
			}
			spec, err := scenarios.LoadFile(f)
			if spec != nil {
				t.Error("got a spec for an invalid file")
			}
			var es scenarios.Errors
			if !errors.As(err, &es) {
				t.Fatalf("got %v (%T), want scenarios.Errors", err, err)
			}
			var got []string
			for _, e := range es {
				got = append(got, strings.TrimPrefix(e.Error(), f+":"))
			}
			if testutil.Update() { // rewrite the want headers
				var b strings.Builder
				for _, g := range got {
					b.WriteString("# want: " + g + "\n")
				}
				b.WriteString(strings.Join(rest, ""))
				if err := os.WriteFile(f, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}
		})
	}
}

// TestGoodFixtures loads each testdata/*.good.yaml and compares the Spec, as
// JSON, with testdata/<name>.golden.json.
func TestGoodFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.good.yaml")
	if len(files) == 0 {
		t.Fatal("no good fixtures")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			spec, err := scenarios.LoadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(spec, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			testutil.Golden(t, strings.TrimSuffix(f, ".yaml")+".golden.json", got)
		})
	}
}

// TestLostWorkerBudget: load.maxLostWorkers and load.maxLostShare are read, and a bad
// share is an error with its position.
func TestLostWorkerBudget(t *testing.T) {
	const head = "version: 1\nname: b\ntarget: {url: http://127.0.0.1:1}\nworkload: [{name: a, request: {url: /}}]\n"
	for _, tc := range []struct {
		load, err string
		n         int
		share     float64
	}{
		{load: "{executor: constant-arrival-rate, rate: 5, duration: 1s}"},
		{load: "{executor: constant-arrival-rate, rate: 5, duration: 1s, maxLostWorkers: 2}", n: 2},
		{load: "{executor: constant-arrival-rate, rate: 5, duration: 1s, maxLostShare: 25%}", share: 0.25},
		{load: "{executor: constant-vus, vus: 2, duration: 1s, maxLostShare: 0.5}", share: 0.5},
		{load: "{executor: constant-arrival-rate, rate: 5, duration: 1s, maxLostShare: 120%}",
			err: `b.yaml:5:78: load.maxLostShare: bad percentage "120%", want 0% to 100%`},
		{load: "{executor: constant-arrival-rate, rate: 5, duration: 1s, maxLostWorkers: many}",
			err: `b.yaml:5:80: load.maxLostWorkers: want an integer`},
	} {
		spec, err := scenarios.LoadBytes("b.yaml", []byte(head+"load: "+tc.load+"\n"), ".")
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error %v, want %s", tc.load, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.load, err)
			continue
		}
		if spec.Load.MaxLostWorkers != tc.n || spec.Load.MaxLostShare != tc.share {
			t.Errorf("%s: maxLostWorkers %d, maxLostShare %g; want %d, %g", tc.load, spec.Load.MaxLostWorkers, spec.Load.MaxLostShare, tc.n, tc.share)
		}
	}
}
