package verify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/chaos/verify"
	"github.com/trendtactics/loadlab/result"
)

func TestCoursePath(t *testing.T) {
	for path, want := range map[string]string{
		"/v1/courses/course-7/enrollments": "course-7",
		"/v1/courses/course-7/enrollment":  "",
		"/v1/courses//enrollments":         "",
		"/v1/lessons/x/progress":           "",
	} {
		got, ok := verify.CoursePath(path)
		if got != want && ok || ok != (want != "") {
			t.Errorf("CoursePath(%q) = %q, %v; want %q", path, got, ok, want)
		}
	}
}

// TestWaitReady waits through two 503s for the 200, and gives up on a service that never
// becomes ready.
func TestWaitReady(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" || n.Add(1) <= 2 {
			w.WriteHeader(503)
		}
	}))
	defer srv.Close()
	if _, err := verify.WaitReady(context.Background(), srv.URL, 5*time.Second); err != nil || n.Load() != 3 {
		t.Fatalf("err %v after %d polls, want ready on the third", err, n.Load())
	}
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer down.Close()
	if _, err := verify.WaitReady(context.Background(), down.URL, 500*time.Millisecond); err == nil {
		t.Fatal("ready although /readyz answers 503")
	}
}

// TestCheckWithoutDatabase: no state to read is a failed verification, never a pass.
func TestCheckWithoutDatabase(t *testing.T) {
	v := verify.Check(context.Background(), "", verify.Input{Checks: []string{verify.EnrollmentsDurable},
		Writes: []result.Write{{Outcome: result.OutcomeOK}, {Outcome: result.OutcomeUnknown}}})
	if v.Pass || v.Error == "" || v.Writes.OK != 1 || v.Writes.Unknown != 1 {
		t.Fatalf("%+v", v)
	}
}
