package lab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/chaos"
	"github.com/trendtactics/loadlab/chaos/lab"
	"github.com/trendtactics/loadlab/internal/testutil/pgtest"
	"github.com/trendtactics/loadlab/scenarios"
)

// TestLabReplicaLag starts a lab whose database has a streaming read replica and injects
// database.replica-lag: a student's enrollment, made while the replica's replay is paused,
// is visible to that student (whose cookie carries the write's WAL position, so the
// academy reads from the primary), whichever academy replica answers; the same read
// without the cookie is served by the paused replica and misses it (the replica really
// lags and really serves reads); once the fault is rolled back, it is there too.
func TestLabReplicaLag(t *testing.T) {
	pgtest.NeedPostgres(t)
	l := startLab(t, lab.Config{Replicas: 2, DBReplicas: 1, Cache: "none", Seed: scenarios.LabSeed{Users: 5, Courses: 2, Seed: 7}})
	if len(l.ReplicaURLs()) != 1 {
		t.Fatalf("replica URLs %v, want one", l.ReplicaURLs())
	}
	// No keep-alive: each request may reach either academy replica.
	plain := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	jar, _ := cookiejar.New(nil)
	author := &http.Client{Transport: plain.Transport, Jar: jar, Timeout: 10 * time.Second}
	do := func(c *http.Client, method, path, token string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, l.URL()+path, strings.NewReader(`{"email":"student-1@academy.test","password":"password-1"}`))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Idempotency-Key", "k-1")
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := do(plain, http.MethodPost, "/v1/sessions", "")
	var sess struct{ Token string }
	if code != 200 || json.Unmarshal([]byte(body), &sess) != nil {
		t.Fatalf("login: %d %s", code, body)
	}

	// The replica has replayed the seed, and both academy replicas have seen it do so: the
	// lag starts from a replica that is caught up.
	for caught, deadline := 0, time.Now().Add(30*time.Second); caught < 4; {
		if time.Now().After(deadline) {
			t.Fatal("the replica did not catch up with the seed within 30s")
		}
		_, metrics := do(plain, http.MethodGet, "/metrics", "")
		if strings.Contains(metrics, "academy_db_replica_lag_bytes{replica=\"0\",shard=\"0\"} 0\n") {
			caught++
		} else {
			caught = 0
			time.Sleep(20 * time.Millisecond)
		}
	}
	fault, err := l.Resolve(&scenarios.Fault{Name: "lag", Kind: scenarios.FaultDatabaseReplicaLag, Target: "database"})
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	fault.(chaos.EventReporter).ReportEvents(func(kind, detail string) { events = append(events, kind+" "+detail) })
	ctx := context.Background()
	if err := fault.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	if code, body := do(author, http.MethodPost, "/v1/courses/course-1/enrollments", sess.Token); code != 201 {
		t.Fatalf("enroll: %d %s", code, body)
	}
	for i := range 4 {
		if code, body := do(author, http.MethodGet, "/v1/courses/course-1/enrollment", sess.Token); code != 200 {
			t.Fatalf("the author's read %d of its own enrollment: %d %s", i, code, body)
		}
	}
	if code, body := do(plain, http.MethodGet, "/v1/courses/course-1/enrollment", sess.Token); code != 404 {
		t.Fatalf("a read without the cookie during the lag: %d %s, want 404 from the paused replica", code, body)
	}
	// Each academy replica's poller sees the pause and the lag (at its next poll).
	for seen, deadline := 0, time.Now().Add(10*time.Second); seen < 2; {
		_, metrics := do(plain, http.MethodGet, "/metrics", "")
		if strings.Contains(metrics, "academy_db_replica_replay_paused{replica=\"0\",shard=\"0\"} 1") &&
			!strings.Contains(metrics, "academy_db_replica_lag_bytes{replica=\"0\",shard=\"0\"} 0\n") {
			seen++
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("the academy's metrics do not show the paused, lagging replica:\n%s", grepLines(metrics, "replica"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := fault.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	var behind int
	if len(events) != 1 || !strings.HasPrefix(events[0], "replica.behind replica 1: ") {
		t.Fatalf("events %q, want one replica.behind", events)
	}
	if _, err := fmt.Sscanf(events[0], "replica.behind replica 1: %d bytes", &behind); err != nil || behind <= 0 {
		t.Errorf("event %q: the paused replica was not behind (%v)", events[0], err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if code, _ := do(plain, http.MethodGet, "/v1/courses/course-1/enrollment", sess.Token); code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the replica did not catch up within 10s of the rollback")
		}
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
