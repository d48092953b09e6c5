package scenarios_test

import (
	"io"
	"regexp"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/scenarios"
)

func TestEnrollSpike(t *testing.T) {
	spec, err := scenarios.LoadFile("enroll-spike.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if spec.Target.Lab == nil || spec.Target.Lab.Replicas != 2 || spec.Target.Lab.Cache != "redis" {
		t.Errorf("target %+v", spec.Target)
	}
	if got := spec.Load.Total(); got != 80*time.Second {
		t.Errorf("total %s", got)
	}
	enroll := spec.Workload[2]
	if enroll.Name != "enrollment" || len(enroll.Flow) != 2 {
		t.Fatalf("enrollment item %+v", enroll)
	}
	it := spec.NewIteration(7, 42)
	req, err := enroll.Flow[0].Request.Build(it, "http://127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	if !regexp.MustCompile(`^\{"email":"student-(\d+)@academy\.test","password":"password-(\d+)"\}$`).Match(body) {
		t.Errorf("login body %s", body)
	}
	if req.Header.Get("Content-Type") != "application/json" || req.Header.Get("Accept") != "application/json" {
		t.Errorf("login headers %v", req.Header)
	}
	if err := enroll.Flow[0].Apply(it, 200, nil, []byte(`{"token":"jwt"}`)); err != nil {
		t.Fatal(err)
	}
	req, err = enroll.Flow[1].Request.Build(it, "http://127.0.0.1:9")
	if err != nil {
		t.Fatal(err)
	}
	if req.Header.Get("Authorization") != "Bearer jwt" || !regexp.MustCompile(`/v1/courses/course-\d+/enrollments$`).MatchString(req.URL.Path) {
		t.Errorf("enroll request %s %v", req.URL, req.Header)
	}
	if fails := enroll.Flow[1].Request.Expect.Check(409, nil, nil, time.Millisecond); len(fails) != 0 {
		t.Errorf("409 failed: %v", fails)
	}
	want := []string{
		"latency{window:steady} p(99) < 100ms",
		"latency{window:slow-db} p(99) < 500ms",
		"errors rate < 1%",
		"availability rate >= 99.9%",
	}
	if len(spec.Thresholds) != len(want) {
		t.Fatalf("%d thresholds", len(spec.Thresholds))
	}
	for i, th := range spec.Thresholds {
		if th.String() != want[i] {
			t.Errorf("threshold %d = %q, want %q", i, th, want[i])
		}
	}
	if th := spec.Thresholds[3]; th.Value != 0.999 || th.Aggregation != "rate" || th.Op != ">=" {
		t.Errorf("availability %+v", th)
	}
	f := spec.Faults[0]
	if f.End() != 44*time.Second || f.ParamDuration("latency") != 50*time.Millisecond || f.Mode != "all" {
		t.Errorf("fault %+v", f)
	}
}
