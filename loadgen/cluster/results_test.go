package cluster_test

import (
	"bytes"
	"errors"
	"io"
	"net/url"
	"testing"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/loadgen/pipeline"
)

// TestResultsFromWorkers: with 2 workers, the coordinator's results file (vegeta's
// format) holds every request the run sent exactly once: its records are as many as the
// run's sent count, and each global iteration (the n= of the URL) appears once.
func TestResultsFromWorkers(t *testing.T) {
	tg := newTarget(t)
	path := scenario(t, 200, "2s")
	file := &testutil.Buffer{}
	res, status := runCluster(t, path, 2, pipeline.Config{BaseURL: tg.URL, Results: file}, nil)
	dec := vegeta.NewDecoder(bytes.NewReader(file.Bytes()))
	seen := map[string]int{}
	records := uint64(0)
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("after %d records: %v", records, err)
			}
			break
		}
		records++
		u, err := url.Parse(r.URL)
		if err != nil {
			t.Fatal(err)
		}
		seen[u.Query().Get("n")]++
	}
	if res.Generator.Sent != 400 || records != res.Generator.Sent {
		t.Fatalf("the results file holds %d records, the run sent %d (want 400)\n%s", records, res.Generator.Sent, status)
	}
	for n, k := range seen {
		if k != 1 {
			t.Errorf("iteration %s is in the file %d times", n, k)
		}
	}
	if len(seen) != 400 {
		t.Errorf("%d distinct iterations in the file, want 400", len(seen))
	}
}
