package httpapi_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/reference-app/academy"
)

// newURLOnly wraps a URL for env.do when the test serves the handler itself.
func newURLOnly(url string) *httptest.Server { return &httptest.Server{URL: url} }

func TestRedisKilledReadsKeepWorking(t *testing.T) {
	url, cmd := testutil.StartRedis(t, 0)
	e, _ := newEnv(t, envOptions{redisURL: url, seed: academy.SeedSpec{Users: 1, Courses: 5, Seed: 2}})
	paths := []string{"/v1/courses", "/v1/courses/course-1", "/v1/courses/course-2/lessons", "/v1/live-sessions"}
	for _, p := range paths { // warm the cache
		e.do("GET", p, "", nil)
		e.do("GET", p, "", nil)
	}
	if hits := testutil.Sum(t, e.reg, "academy_cache_requests_total", map[string]string{"op": "get", "result": "hit"}); hits == 0 {
		t.Fatal("no cache hits before the outage: the test would prove nothing")
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	for i := range 60 {
		p := paths[i%len(paths)]
		if r := e.do("GET", p, "", nil); r.status != http.StatusOK {
			t.Fatalf("GET %s with redis dead: %d %s", p, r.status, r.body)
		}
	}
	// Writes keep working and are visible.
	tok := e.token(student(1), academy.RoleStudent)
	if r := e.do("POST", "/v1/courses/course-1/enrollments", tok, nil); r.status != http.StatusCreated {
		t.Fatalf("enroll with redis dead: %d", r.status)
	}
	errs := testutil.Sum(t, e.reg, "academy_cache_requests_total", map[string]string{"result": "error"})
	skipped := testutil.Sum(t, e.reg, "academy_cache_requests_total", map[string]string{"result": "skipped"})
	if errs > 4 || skipped == 0 {
		t.Fatalf("%v cache calls went to the dead redis (%v skipped): the breaker should stop them", errs, skipped)
	}
	var ready map[string]string
	r := e.do("GET", "/readyz", "", nil)
	r.json(t, &ready)
	if r.status != http.StatusOK || ready["cache"] != "degraded" || ready["database"] != "ok" {
		t.Fatalf("readyz with redis dead: %d %v", r.status, ready)
	}
	if got := testutil.Sum(t, e.reg, "academy_cache_degraded", nil); got != 1 {
		t.Fatalf("academy_cache_degraded = %v", got)
	}
}
