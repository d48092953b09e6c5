package httpapi_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/cespare/xxhash/v2"

	"github.com/trendtactics/loadlab/reference-app/academy"
	"github.com/trendtactics/loadlab/reference-app/httpapi"
)

// strongETag is the ETag the academy promises: the body's 64-bit xxHash,
// quoted hex.
func strongETag(body []byte) string { return fmt.Sprintf(`"%016x"`, xxhash.Sum64(body)) }

// TestCatalogHTTPCaching: public catalog answers carry the guide's hour and
// a strong ETag of their body; If-None-Match revalidates to 304 without a
// body; a write changes the ETag; errors and personal answers are no-store
// and carry no ETag.
func TestCatalogHTTPCaching(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 3, Courses: 4, Seed: 7}})
	var ls struct{ Lessons []academy.Lesson }
	e.do("GET", "/v1/courses/course-1/lessons", "", nil).json(t, &ls)
	paths := []string{"/v1/courses?limit=3", "/v1/courses?q=go&category=programming", "/v1/courses/course-1",
		"/v1/courses/course-1/lessons", "/v1/lessons/" + ls.Lessons[0].ID.String()}
	for _, path := range paths {
		r := e.do("GET", path, "", nil)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.status, r.body)
		}
		if got := r.header.Get("Cache-Control"); got != "public, max-age=3600" {
			t.Errorf("GET %s: Cache-Control %q", path, got)
		}
		etag := r.header.Get("ETag")
		if etag != strongETag(r.body) {
			t.Fatalf("GET %s: ETag %q, want the body's hash %q", path, etag, strongETag(r.body))
		}
		if r.header.Get("Last-Modified") != "" {
			t.Errorf("GET %s: Last-Modified %q; the catalog sends none", path, r.header.Get("Last-Modified"))
		}
		// The same answer for a signed-in caller: one cache entry serves everyone.
		if signed := e.do("GET", path, e.token(student(1), academy.RoleStudent), nil); signed.header.Get("ETag") != etag {
			t.Errorf("GET %s signed in: ETag %q, want %q", path, signed.header.Get("ETag"), etag)
		}
		for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
			nm := e.do("GET", path, "", nil, "If-None-Match", inm)
			if nm.status != http.StatusNotModified || len(nm.body) != 0 {
				t.Fatalf("GET %s If-None-Match %s: %d %q, want 304 without a body", path, inm, nm.status, nm.body)
			}
			if nm.header.Get("ETag") != etag || nm.header.Get("Cache-Control") != "public, max-age=3600" {
				t.Errorf("304 of %s: ETag %q Cache-Control %q", path, nm.header.Get("ETag"), nm.header.Get("Cache-Control"))
			}
		}
		if r := e.do("GET", path, "", nil, "If-None-Match", `"other"`); r.status != http.StatusOK || r.header.Get("ETag") != etag {
			t.Errorf("GET %s with another ETag: %d %q", path, r.status, r.header.Get("ETag"))
		}
	}

	// A write changes the course's body, hence its ETag: the old one revalidates to 200.
	old := e.do("GET", "/v1/courses/course-1", "", nil)
	if r := e.do("POST", "/v1/courses/course-1/enrollments", e.token(student(2), academy.RoleStudent), nil); r.status != http.StatusCreated {
		t.Fatalf("enroll: %d %s", r.status, r.body)
	}
	now := e.do("GET", "/v1/courses/course-1", "", nil, "If-None-Match", old.header.Get("ETag"))
	if now.status != http.StatusOK || now.header.Get("ETag") == old.header.Get("ETag") || now.header.Get("ETag") != strongETag(now.body) {
		t.Fatalf("after an enrollment: %d ETag %q (was %q)", now.status, now.header.Get("ETag"), old.header.Get("ETag"))
	}

	// Errors and personal answers: no-store, no ETag.
	tok := e.token(student(2), academy.RoleStudent)
	for _, c := range []struct{ path, token string }{
		{"/v1/courses/no-such-course", ""},
		{"/v1/courses?q=%00", ""},
		{"/v1/me", tok},
		{"/v1/me/enrollments", tok},
		{"/v1/courses/course-1/enrollment", tok},
		{"/v1/courses/course-1/progress", tok},
		{"/admin/faults", e.admin},
	} {
		r := e.do("GET", c.path, c.token, nil)
		if r.header.Get("Cache-Control") != "no-store" || r.header.Get("ETag") != "" {
			t.Errorf("GET %s: %d Cache-Control %q ETag %q, want no-store and no ETag", c.path, r.status, r.header.Get("Cache-Control"), r.header.Get("ETag"))
		}
	}
}

// BenchmarkCatalogRevalidate compares a full cached catalog page (200 with
// its ~20-course body) with its revalidation (If-None-Match → 304, no body),
// through the same client in one run: the figure is the ratio of req/s.
func BenchmarkCatalogRevalidate(b *testing.B) {
	e, _ := newEnv(b, envOptions{seed: academy.SeedSpec{Users: 1, Courses: 50, Seed: 42},
		opts: httpapi.Options{DisableRateLimit: true, MaxInFlight: -1}})
	etag := e.do("GET", "/v1/courses?limit=20", "", nil).header.Get("ETag")
	for _, c := range []struct{ name, inm string }{{"full-200", ""}, {"revalidate-304", etag}} {
		b.Run(c.name, func(b *testing.B) {
			hammer(b, func(int64) *http.Request {
				r, _ := http.NewRequest("GET", e.srv.URL+"/v1/courses?limit=20", nil)
				if c.inm != "" {
					r.Header.Set("If-None-Match", c.inm)
				}
				return r
			})
		})
	}
}
