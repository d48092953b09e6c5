package httpapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/trendtactics/loadlab/reference-app/academy"
	"github.com/trendtactics/loadlab/reference-app/httpapi"
	"github.com/trendtactics/loadlab/reference-app/postgres/pgtemp"
)

// benchClient is the one client of every benchmark.
func benchClient() *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256}}
}

func hammer(b *testing.B, url func(i int64) *http.Request) {
	b.Helper()
	c := benchClient()
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Do(url(n.Add(1)))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode >= 400 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkCourseList compares the cached catalog page with a minimal
// net/http handler writing a JSON body of the same size, through the same
// client on the same machine.
func BenchmarkCourseList(b *testing.B) {
	e, _ := newEnv(b, envOptions{seed: academy.SeedSpec{Users: 1, Courses: 50, Seed: 42},
		opts: httpapi.Options{DisableRateLimit: true, MaxInFlight: -1}})
	resp := e.do("GET", "/v1/courses?limit=20", "", nil)
	body := resp.body
	b.Run("academy-cached", func(b *testing.B) {
		hammer(b, func(int64) *http.Request {
			r, _ := http.NewRequest("GET", e.srv.URL+"/v1/courses?limit=20", nil)
			return r
		})
	})
	b.Run("minimal-handler", func(b *testing.B) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(body)
		}))
		defer srv.Close()
		hammer(b, func(int64) *http.Request {
			r, _ := http.NewRequest("GET", srv.URL+"/v1/courses?limit=20", nil)
			return r
		})
	})
}

// BenchmarkEnroll compares POST /v1/courses/{course}/enrollments (each
// request a new user, 50 courses with room) with pgbench running the same
// SQL transaction (reference-app/postgres/testdata/enroll.pgbench) against
// a database of the same cluster.
func BenchmarkEnroll(b *testing.B) {
	b.Run("academy-http", func(b *testing.B) {
		e, _ := newEnv(b, envOptions{seed: academy.SeedSpec{Users: 1, Courses: 50, Seed: 42},
			opts: httpapi.Options{DisableRateLimit: true, MaxInFlight: -1}})
		bigCapacity(b, e)
		hammer(b, func(i int64) *http.Request {
			tok, _ := e.svc.IssueToken(uuid.New(), academy.RoleStudent)
			r, _ := http.NewRequest("POST", fmt.Sprintf("%s/v1/courses/course-%d/enrollments", e.srv.URL, 1+i%50), nil)
			r.Header.Set("Authorization", "Bearer "+tok)
			return r
		})
	})
	b.Run("pgbench", func(b *testing.B) {
		pgbench, err := exec.LookPath("pgbench")
		if err != nil {
			bin, err := pgtemp.FindBinDir()
			if err != nil {
				b.Skip(err)
			}
			pgbench = filepath.Join(bin, "pgbench")
		}
		e, _ := newEnv(b, envOptions{seed: academy.SeedSpec{Users: 1, Courses: 50, Seed: 42}})
		bigCapacity(b, e)
		var name string
		if err := e.dbURL(&name); err != nil {
			b.Fatal(err)
		}
		const clients = 16
		b.ResetTimer()
		out, err := exec.Command(pgbench, "-n", "-c", strconv.Itoa(clients), "-j", "2",
			"-t", strconv.Itoa(max(1, b.N/clients)), "-f", "../postgres/testdata/enroll.pgbench", name).CombinedOutput()
		if err != nil {
			b.Fatalf("pgbench: %v\n%s", err, out)
		}
		m := regexp.MustCompile(`tps = ([0-9.]+)`).FindSubmatch(out)
		if m == nil {
			b.Fatalf("no tps in pgbench output:\n%s", out)
		}
		tps, _ := strconv.ParseFloat(string(m[1]), 64)
		b.ReportMetric(tps, "req/s")
	})
}

func bigCapacity(b *testing.B, e *env) {
	b.Helper()
	for i := 1; i <= 50; i++ {
		big := 1_000_000
		if _, err := e.svc.UpdateCourse(context.Background(), academy.Principal{Role: academy.RoleAdmin}, fmt.Sprintf("course-%d", i), academy.CoursePatch{Capacity: &big}); err != nil {
			b.Fatal(err)
		}
	}
}
