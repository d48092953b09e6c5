package httpapi_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/reference-app/academy"
)

// Query text with a NUL byte, another control character or bad UTF-8 is a 400 with a JSON
// error naming the parameter: found when `GET /v1/courses?q=%00` answered 500 (PostgreSQL
// refuses NUL, SQLSTATE 22021).
func TestCatalogQueryTextIsValidated(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 1, Courses: 3, Seed: 5}})
	for _, c := range []struct{ query, field string }{
		{"q=%00", "q"}, {"category=a%00b", "category"}, {"q=go%00&category=business", "q"},
		{"q=%01", "q"}, {"q=go%0Ago", "q"}, {"q=%7F", "q"}, {"q=%C2%85", "q"}, {"category=%1B%5B2J", "category"},
		{"q=%FF", "q"}, {"category=%C3", "category"},
	} {
		r := e.do("GET", "/v1/courses?"+c.query, "", nil)
		var body struct{ Error struct{ Code, Field string } }
		r.json(t, &body)
		if r.status != http.StatusBadRequest || body.Error.Code != "invalid_input" || body.Error.Field != c.field {
			t.Errorf("GET /v1/courses?%s: %d %s, want 400 invalid_input on %s", c.query, r.status, r.body, c.field)
		}
	}
	for _, q := range []string{"q=Go", "q=%C3%A9t%C3%A9", "q=%27%25_%5C", "category=business"} {
		if r := e.do("GET", "/v1/courses?"+q, "", nil); r.status != http.StatusOK {
			t.Errorf("GET /v1/courses?%s: %d %s, want 200", q, r.status, r.body)
		}
	}
}

// randomCase returns s with each ASCII letter in upper or lower case at random.
func randomCase(r *rand.Rand, s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' && r.IntN(2) == 0 {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// The case variants of one query, and its parameters in any order or left at their
// defaults, share one cache entry: found when random-case variants of one query each stored a
// 19.5 KB page for an hour (heap 5.6 → 740 MB with 24,000 requests; with Redis one key per
// request).
func TestCatalogCaseVariantsShareOneEntry(t *testing.T) {
	for _, backend := range []string{"memory", "redis"} {
		t.Run(backend, func(t *testing.T) {
			var o envOptions
			var rdb *redis.Client
			if backend == "redis" {
				u, _ := testutil.StartRedis(t, 0)
				opts, err := redis.ParseURL(u)
				if err != nil {
					t.Fatal(err)
				}
				rdb = redis.NewClient(opts)
				t.Cleanup(func() { rdb.Close() })
				o.redisURL = u
			}
			o.seed = academy.SeedSpec{Users: 1, Courses: 30, Seed: 5}
			e, _ := newEnv(t, o)
			entries := func() int64 {
				if rdb != nil {
					n, err := rdb.DBSize(context.Background()).Result()
					if err != nil {
						t.Fatal(err)
					}
					return n
				}
				return int64(testutil.Value(t, e.reg, "academy_cache_memory_entries", nil))
			}
			want := e.do("GET", "/v1/courses?q=seeded+course&limit=20&offset=0", "", nil)
			var page academy.CoursePage
			want.json(t, &page)
			if want.status != http.StatusOK || page.Total != 30 || len(page.Courses) != 20 {
				t.Fatalf("the query matches %d courses (%d listed), want 30 (20): %s", page.Total, len(page.Courses), want.body)
			}
			base := entries() // the catalog generation and this page
			r := rand.New(rand.NewPCG(1, 2))
			for i := range 400 {
				q := url.QueryEscape(randomCase(r, "seeded course"))
				path := [...]string{"/v1/courses?q=" + q, "/v1/courses?limit=20&q=" + q, "/v1/courses?offset=0&q=" + q + "&limit=20"}[i%3]
				got := e.do("GET", path, "", nil)
				if got.status != http.StatusOK || string(got.body) != string(want.body) {
					t.Fatalf("GET %s: %d %.200s, want the page of the lower-case query", path, got.status, got.body)
				}
			}
			if n := entries(); n != base {
				t.Fatalf("%d cache entries after 400 case variants of one query, want %d", n, base)
			}
			// Another query is another entry.
			e.do("GET", "/v1/courses?q=SEEDED", "", nil)
			if n := entries(); n != base+1 {
				t.Fatalf("%d cache entries after another query, want %d", n, base+1)
			}
		})
	}
}

// However many distinct catalog pages are asked for, the in-process cache holds at most its
// bound, and still serves.
func TestCatalogCacheIsBoundedByBytes(t *testing.T) {
	const max = 256 << 10
	e, _ := newEnv(t, envOptions{cacheMax: max, seed: academy.SeedSpec{Users: 1, Courses: 50, Seed: 5}})
	total := 0
	for limit := 20; limit <= 100; limit++ {
		r := e.do("GET", fmt.Sprintf("/v1/courses?limit=%d", limit), "", nil)
		if r.status != http.StatusOK {
			t.Fatalf("limit %d: %d %s", limit, r.status, r.body)
		}
		total += len(r.body)
		if b := testutil.Value(t, e.reg, "academy_cache_memory_bytes", nil); b > max {
			t.Fatalf("the cache holds %v bytes, bound %d", b, max)
		}
	}
	if total < 4*max {
		t.Fatalf("only %d bytes of pages served: the test would prove nothing", total)
	}
	if ev := testutil.Value(t, e.reg, "academy_cache_memory_evictions_total", nil); ev == 0 {
		t.Fatalf("%d bytes of pages under a bound of %d, and no eviction", total, max)
	}
}

// Every form of a course's UUID reads the same cache entry, the one writes invalidate: an
// enrollment through one form is visible through every form at once. Found when an upper-case
// id (or braces, urn:uuid:, no hyphens) got its own entry, stale for up to an hour.
func TestCourseDetailThroughAnyIDForm(t *testing.T) {
	for _, backend := range []string{"memory", "redis"} {
		t.Run(backend, func(t *testing.T) {
			var o envOptions
			if backend == "redis" {
				o.redisURL, _ = testutil.StartRedis(t, 0)
			}
			o.seed = academy.SeedSpec{Users: 3, Courses: 1, Seed: 5}
			e, _ := newEnv(t, o)
			id := e.createCourse("any-form", 10)
			hex := strings.ReplaceAll(id, "-", "")
			forms := []string{id, strings.ToUpper(id), "{" + id + "}", "urn:uuid:" + id, hex, strings.ToUpper(hex),
				"{" + strings.ToUpper(id) + "}", "urn:uuid:" + strings.ToUpper(id), "any-form"}
			seats := func(form string) int {
				t.Helper()
				r := e.do("GET", "/v1/courses/"+url.PathEscape(form), "", nil)
				var c academy.Course
				r.json(t, &c)
				if r.status != http.StatusOK || c.ID.String() != id {
					t.Fatalf("GET /v1/courses/%s: %d %s", form, r.status, r.body)
				}
				return c.SeatsTaken
			}
			for _, f := range forms { // every form read, and cached, before the write
				seats(f)
				seats(f)
			}
			for i, via := range []string{strings.ToUpper(id), "{" + id + "}", "urn:uuid:" + strings.ToUpper(id)} {
				tok := e.token(student(i+1), academy.RoleStudent)
				if r := e.do("POST", "/v1/courses/"+url.PathEscape(via)+"/enrollments", tok, nil); r.status != http.StatusCreated {
					t.Fatalf("enroll through %s: %d %s", via, r.status, r.body)
				}
				for _, f := range forms {
					if got := seats(f); got != i+1 {
						t.Errorf("after enrollment %d through %s, %s shows %d seats taken", i+1, via, f, got)
					}
				}
			}
		})
	}
}
