package httpapi_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/reference-app/academy"
	"github.com/trendtactics/loadlab/reference-app/httpapi"
)

func TestAccountsFlow(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 2, Courses: 3, Seed: 42}})
	r := e.do("POST", "/v1/users", "", map[string]string{"email": "New@Example.com", "password": "correct horse", "name": "New"})
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	var u academy.User
	r.json(t, &u)
	if u.Email != "new@example.com" || u.Role != academy.RoleStudent {
		t.Fatalf("registered %+v", u)
	}
	if r := e.do("POST", "/v1/users", "", map[string]string{"email": "new@example.com", "password": "correct horse", "name": "Again"}); r.status != http.StatusConflict {
		t.Fatalf("duplicate register: %d", r.status)
	}
	if r := e.do("POST", "/v1/sessions", "", map[string]string{"email": "new@example.com", "password": "wrong password"}); r.status != http.StatusUnauthorized {
		t.Fatalf("bad password: %d", r.status)
	}
	var sess academy.Session
	r = e.do("POST", "/v1/sessions", "", map[string]string{"email": "NEW@example.com", "password": "correct horse"})
	r.json(t, &sess)
	if r.status != http.StatusOK || sess.Token == "" || sess.RefreshToken == "" || sess.ExpiresIn != 900 {
		t.Fatalf("login: %d %+v", r.status, sess)
	}
	var me academy.User
	e.do("GET", "/v1/me", sess.Token, nil).json(t, &me)
	if me.ID != u.ID {
		t.Fatalf("me = %+v", me)
	}
	var next academy.Session
	r = e.do("POST", "/v1/sessions/refresh", "", map[string]string{"refresh_token": sess.RefreshToken})
	r.json(t, &next)
	if r.status != http.StatusOK || next.Token == "" || next.RefreshToken == sess.RefreshToken {
		t.Fatalf("refresh: %d %+v", r.status, next)
	}
	if r := e.do("POST", "/v1/sessions/refresh", "", map[string]string{"refresh_token": sess.RefreshToken}); r.status != http.StatusUnauthorized {
		t.Fatalf("refresh token reused: %d, want 401", r.status)
	}
	// Seeded accounts log in with the documented passwords.
	for _, c := range [][2]string{{"student-2@academy.test", "password-2"}, {"instructor-1@academy.test", "password-1"}, {academy.SeedAdminEmail, academy.SeedAdminPassword}} {
		if r := e.do("POST", "/v1/sessions", "", map[string]string{"email": c[0], "password": c[1]}); r.status != http.StatusOK {
			t.Fatalf("login %s: %d", c[0], r.status)
		}
	}
	// Dashboard fans out to enrollments and progress; grades come from quizzes.
	// (The reuse above revoked next's session too: sign in again.)
	r = e.do("POST", "/v1/sessions", "", map[string]string{"email": "new@example.com", "password": "correct horse"})
	r.json(t, &sess)
	tok := sess.Token
	e.do("POST", "/v1/courses/course-2/enrollments", tok, nil)
	var ls struct{ Lessons []academy.Lesson }
	e.do("GET", "/v1/courses/course-2/lessons", "", nil).json(t, &ls)
	e.do("PUT", "/v1/lessons/"+ls.Lessons[0].ID.String()+"/progress", tok, map[string]int{"percent": 100})
	answers := make([]int, ls.Lessons[0].QuizQuestions)
	var attempt academy.QuizAttempt
	r = e.do("POST", "/v1/lessons/"+ls.Lessons[0].ID.String()+"/quiz-attempts", tok, map[string]any{"answers": answers})
	r.json(t, &attempt)
	if r.status != http.StatusCreated || attempt.MaxScore != len(answers) {
		t.Fatalf("quiz: %d %s", r.status, r.body)
	}
	var d academy.Dashboard
	e.do("GET", "/v1/me/dashboard", tok, nil).json(t, &d)
	if d.User.ID != u.ID || len(d.Enrollments) != 1 || d.Enrollments[0].Course.Slug != "course-2" || d.Summary.CompletedLessons != 1 || d.Enrollments[0].Percent == 0 {
		t.Fatalf("dashboard %+v", d)
	}
	var g struct{ Grades []academy.Grade }
	e.do("GET", "/v1/me/grades", tok, nil).json(t, &g)
	if len(g.Grades) != 1 || g.Grades[0].BestScore != attempt.Score {
		t.Fatalf("grades %+v", g)
	}
}

func TestCatalog(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 1, Courses: 30, Seed: 42}})
	var page academy.CoursePage
	e.do("GET", "/v1/courses?limit=10&offset=5", "", nil).json(t, &page)
	if len(page.Courses) != 10 || page.Total != 30 || page.Courses[0].Slug != "course-6" {
		t.Fatalf("page: total %d, %d courses, first %q", page.Total, len(page.Courses), page.Courses[0].Slug)
	}
	e.do("GET", "/v1/courses?q=number+7+of+the&limit=100", "", nil).json(t, &page)
	if page.Total != 1 || page.Courses[0].Slug != "course-7" {
		t.Fatalf("search: %+v", page)
	}
	cat := page.Courses[0].Category
	e.do("GET", "/v1/courses?limit=100&category="+cat, "", nil).json(t, &page)
	for _, c := range page.Courses {
		if c.Category != cat {
			t.Fatalf("category filter returned %q", c.Category)
		}
	}
	// Writes invalidate the cached pages and details.
	tok := e.token("instructor-1@academy.test", academy.RoleInstructor)
	if r := e.do("PATCH", "/v1/courses/course-1", tok, map[string]any{"title": "Brand new title"}); r.status != http.StatusOK {
		t.Fatalf("patch: %d %s", r.status, r.body)
	}
	var c academy.Course
	e.do("GET", "/v1/courses/course-1", "", nil).json(t, &c)
	if c.Title != "Brand new title" {
		t.Fatalf("detail after update: %q", c.Title)
	}
	e.do("GET", "/v1/courses?q=brand+new", "", nil).json(t, &page)
	if page.Total != 1 {
		t.Fatalf("search after update: %+v", page)
	}
	var l academy.Lesson
	if r := e.do("GET", "/v1/lessons/"+firstLesson(t, e), "", nil); r.status != http.StatusOK || strings.Contains(string(r.body), "answers") {
		t.Fatalf("lesson: %d %s", r.status, r.body)
	} else {
		r.json(t, &l)
	}
	// Video routes serve HLS for existing lessons only.
	if r := e.do("GET", "/v1/lessons/"+l.ID.String()+"/video/master.m3u8", "", nil); r.status != http.StatusOK || !strings.HasPrefix(string(r.body), "#EXTM3U") {
		t.Fatalf("master playlist: %d %.40s", r.status, r.body)
	}
	if r := e.do("GET", "/v1/lessons/00000000-0000-0000-0000-000000000001/video/master.m3u8", "", nil); r.status != http.StatusNotFound {
		t.Fatalf("video of a missing lesson: %d", r.status)
	}
}

func TestFaults(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 2, Courses: 1, Seed: 1}})
	var f httpapi.Fault
	r := e.do("POST", "/admin/faults", adminToken, map[string]any{"route": "/v1/courses/{course}", "method": "GET", "abort_status": 503, "percent": 100})
	r.json(t, &f)
	if r.status != http.StatusCreated || f.ID == "" {
		t.Fatalf("add fault: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/v1/courses/course-1", "", nil); r.status != http.StatusServiceUnavailable || !strings.Contains(string(r.body), "injected_fault") {
		t.Fatalf("faulted route: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/v1/courses", "", nil); r.status != http.StatusOK {
		t.Fatalf("other route affected: %d", r.status)
	}
	if r := e.do("DELETE", "/admin/faults/"+f.ID, adminToken, nil); r.status != http.StatusNoContent {
		t.Fatalf("delete fault: %d", r.status)
	}
	if r := e.do("GET", "/v1/courses/course-1", "", nil); r.status != http.StatusOK {
		t.Fatalf("after delete: %d", r.status)
	}
	e.do("POST", "/admin/faults", adminToken, map[string]any{"route": "/v1/courses", "delay": "150ms"})
	start := time.Now()
	e.do("GET", "/v1/courses", "", nil)
	if time.Since(start) < 150*time.Millisecond {
		t.Fatal("delay fault not applied")
	}
	if r := e.do("DELETE", "/admin/faults", adminToken, nil); r.status != http.StatusNoContent {
		t.Fatalf("clear: %d", r.status)
	}
	// The landing page takes faults too (its route is the pattern's path, /{$}).
	if r := e.do("POST", "/admin/faults", adminToken, map[string]any{"route": "/{$}", "abort_status": 503}); r.status != http.StatusCreated {
		t.Fatalf("fault on the landing page: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/", "", nil); r.status != http.StatusServiceUnavailable {
		t.Fatalf("landing page under an abort fault: %d", r.status)
	}
	e.do("DELETE", "/admin/faults", adminToken, nil)
	if r := e.do("GET", "/", "", nil); r.status != http.StatusOK {
		t.Fatalf("landing page after the fault: %d", r.status)
	}
	// drop-write is refused unless unsafe faults are allowed.
	r = e.do("POST", "/admin/faults", adminToken, map[string]any{"route": "/v1/courses/{course}/enrollments", "kind": "drop-write"})
	if r.status != http.StatusForbidden || !strings.Contains(string(r.body), "unsafe_faults_disabled") {
		t.Fatalf("drop-write without --allow-unsafe-faults: %d %s", r.status, r.body)
	}
}

func TestDropWriteFaultLosesTheWrite(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 2, Courses: 1, Seed: 1}, opts: httpapi.Options{AllowUnsafeFaults: true}})
	if r := e.do("POST", "/admin/faults", adminToken, map[string]any{"route": "/v1/courses", "kind": "drop-write"}); r.status != http.StatusBadRequest {
		t.Fatalf("drop-write on another route: %d", r.status)
	}
	r := e.do("POST", "/admin/faults", adminToken, map[string]any{"route": "/v1/courses/{course}/enrollments", "kind": "drop-write"})
	if r.status != http.StatusCreated {
		t.Fatalf("drop-write allowed: %d %s", r.status, r.body)
	}
	tok := e.token(student(1), academy.RoleStudent)
	if r := e.do("POST", "/v1/courses/course-1/enrollments", tok, nil); r.status != http.StatusCreated {
		t.Fatalf("dropped enroll: %d", r.status)
	}
	if r := e.do("GET", "/v1/courses/course-1/enrollment", tok, nil); r.status != http.StatusNotFound {
		t.Fatalf("dropped enrollment is stored: %d", r.status)
	}
	var c academy.Course
	e.do("GET", "/v1/courses/course-1", "", nil).json(t, &c)
	if c.SeatsTaken != 0 {
		t.Fatalf("dropped enrollment took a seat")
	}
}

func TestProtection(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 1, Courses: 1, Seed: 1},
		opts: httpapi.Options{RateLimits: httpapi.RateLimits{PerIP: 1, IPBurst: 5}}})
	r := e.do("GET", "/v1/courses", "", nil)
	for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"} {
		if r.header.Get(h) == "" {
			t.Errorf("missing %s", h)
		}
	}
	if r.header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS sent without TLS")
	}
	limited := 0
	for range 10 {
		r := e.do("GET", "/v1/courses", "", nil)
		if r.status == http.StatusTooManyRequests {
			limited++
			if r.header.Get("Retry-After") == "" || !strings.Contains(string(r.body), "rate_limited") {
				t.Fatalf("429 without Retry-After or code: %v %s", r.header, r.body)
			}
		}
	}
	if limited == 0 {
		t.Fatal("no request was rate limited")
	}
	// Health is never rate limited.
	if r := e.do("GET", "/healthz", "", nil); r.status != http.StatusOK {
		t.Fatalf("healthz: %d", r.status)
	}
	if got := testutil.Sum(t, e.reg, "academy_rate_limited_total", map[string]string{"scope": "ip"}); got != float64(limited) {
		t.Fatalf("academy_rate_limited_total = %v, want %d", got, limited)
	}
}

func TestAdmissionControlSheds(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 1, Courses: 1, Seed: 1},
		opts: httpapi.Options{MaxInFlight: 2, AdmissionWait: 10 * time.Millisecond}})
	e.do("POST", "/admin/faults", adminToken, map[string]any{"route": "/v1/courses", "delay": "300ms"})
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Go(func() {
			r := e.do("GET", "/v1/courses", "", nil)
			statuses[i] = r.status
			if r.status == http.StatusServiceUnavailable && r.header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		})
	}
	wg.Wait()
	ok, shed := 0, 0
	for _, s := range statuses {
		switch s {
		case 200:
			ok++
		case 503:
			shed++
		}
	}
	if ok < 2 || shed == 0 || ok+shed != len(statuses) {
		t.Fatalf("statuses %v: want 2+ served and the rest shed", statuses)
	}
	if got := testutil.Sum(t, e.reg, "academy_shed_requests_total", nil); got != float64(shed) {
		t.Fatalf("academy_shed_requests_total = %v, want %d", got, shed)
	}
}

func TestRoutingErrorsAreJSON(t *testing.T) {
	e, _ := newEnv(t, envOptions{})
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/v1/nope", 404}, {"GET", "/nope", 404}, {"DELETE", "/v1/courses", 405}, {"PUT", "/healthz", 405}, {"GET", "/v1/courses/nope", 404},
	} {
		r := e.do(tc.method, tc.path, "", nil)
		if r.status != tc.want || !strings.Contains(r.header.Get("Content-Type"), "json") || !strings.Contains(string(r.body), `"error"`) {
			t.Errorf("%s %s: %d %s %s", tc.method, tc.path, r.status, r.header.Get("Content-Type"), r.body)
		}
	}
}

func TestMetricsUseRoutePatterns(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 1, Courses: 2, Seed: 1}})
	e.do("GET", "/v1/courses/course-1", "", nil)
	e.do("GET", "/v1/courses/course-2", "", nil)
	r := e.do("GET", "/metrics", "", nil)
	body := string(r.body)
	for _, want := range []string{
		`academy_http_requests_total{code="200",method="GET",route="GET /v1/courses/{course}"} 2`,
		`academy_http_request_duration_seconds_bucket`, `academy_http_requests_in_flight`,
		`academy_db_pool_max_connections{shard="0"}`, `academy_cache_requests_total`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(body, "course-1") {
		t.Error("a raw path leaked into a metric label")
	}
	var ready map[string]string
	e.do("GET", "/readyz", "", nil).json(t, &ready)
	if ready["status"] != "ok" || ready["database"] != "ok" || ready["cache"] != "memory" {
		t.Fatalf("readyz %v", ready)
	}
}

func TestLiveJoin(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 1, Courses: 1, Seed: 1}})
	var ls struct {
		LiveSessions []academy.LiveSession `json:"live_sessions"`
	}
	e.do("GET", "/v1/live-sessions", "", nil).json(t, &ls)
	if len(ls.LiveSessions) != 1 {
		t.Fatalf("live sessions %+v", ls)
	}
	id := ls.LiveSessions[0].ID.String()
	if r := e.do("POST", "/v1/live-sessions/"+id+"/join", "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("anonymous join: %d", r.status)
	}
	var j struct {
		Ticket string `json:"ticket"`
	}
	r := e.do("POST", "/v1/live-sessions/"+id+"/join", e.token(student(1), academy.RoleStudent), nil)
	if r.status != http.StatusOK || !strings.Contains(string(r.body), `"ws_url"`) {
		t.Fatalf("join: %d %s", r.status, r.body)
	}
	r.json(t, &j)
	if j.Ticket == "" {
		t.Fatal("no ticket")
	}
	if r := e.do("GET", "/v1/live-sessions/"+id+"/ws?ticket=bogus", "", nil); r.status != http.StatusUnauthorized {
		t.Fatalf("ws with a bad ticket: %d", r.status)
	}
	// The ticket opens the WebSocket through every middleware.
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.srv.URL, "http")+"/v1/live-sessions/"+id+"/ws?ticket="+url.QueryEscape(j.Ticket), nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer ws.Close()
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	var msg struct{ Type, Event string }
	if err := ws.ReadJSON(&msg); err != nil || msg.Type != "presence" || msg.Event != "join" {
		t.Fatalf("first message %+v, %v; want a presence join", msg, err)
	}

	// Progress in a lesson of the session's course is pushed to the session.
	tok := e.token(student(1), academy.RoleStudent)
	course := ls.LiveSessions[0].CourseID.String()
	if r := e.do("POST", "/v1/courses/"+course+"/enrollments", tok, nil); r.status != http.StatusCreated && r.status != http.StatusOK {
		t.Fatalf("enroll: %d %s", r.status, r.body)
	}
	var lessons struct {
		Lessons []struct {
			ID string `json:"id"`
		} `json:"lessons"`
	}
	e.do("GET", "/v1/courses/"+course+"/lessons", tok, nil).json(t, &lessons)
	if len(lessons.Lessons) == 0 {
		t.Fatal("the seeded course has no lessons")
	}
	if r := e.do("PUT", "/v1/lessons/"+lessons.Lessons[0].ID+"/progress", tok, map[string]any{"percent": 40}); r.status != http.StatusOK {
		t.Fatalf("progress: %d %s", r.status, r.body)
	}
	var push struct {
		Type string
		Data struct {
			Percent int `json:"percent"`
		}
	}
	if err := ws.ReadJSON(&push); err != nil || push.Type != "progress" || push.Data.Percent != 40 {
		t.Fatalf("after a progress update the session got %+v, %v; want a progress push of 40%%", push, err)
	}
}

// TestShutdownDrainsInFlight: requests in flight when Shutdown starts all
// complete and are stored.
func TestShutdownDrainsInFlight(t *testing.T) {
	e, h := newEnv(t, envOptions{plain: true, seed: academy.SeedSpec{Users: 1, Courses: 1, Seed: 1}})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	e.srv = newURLOnly("http://" + l.Addr().String())
	course := e.createCourse("drain", 100)
	e.do("POST", "/admin/faults", adminToken, map[string]any{"route": "/v1/courses/{course}/enrollments", "delay": "400ms"})
	const n = 20
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			r, err := e.try("POST", "/v1/courses/"+course+"/enrollments", e.token(student(1000+i), academy.RoleStudent), nil)
			if err != nil {
				t.Errorf("request %d lost: %v", i, err)
				return
			}
			statuses[i] = r.status
		})
	}
	// Wait until all are in flight, then shut down.
	deadline := time.Now().Add(5 * time.Second)
	for testutil.Sum(t, e.reg, "academy_http_requests_in_flight", map[string]string{"route": "POST /v1/courses/{course}/enrollments"}) < n {
		if time.Now().After(deadline) {
			t.Fatal("requests never got in flight")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	wg.Wait()
	if err := <-served; err != http.ErrServerClosed {
		t.Fatalf("serve: %v", err)
	}
	for i, s := range statuses {
		if s != http.StatusCreated {
			t.Fatalf("request %d: status %d, want 201", i, s)
		}
	}
	c, err := e.db.Course(context.Background(), course)
	if err != nil || c.SeatsTaken != n {
		t.Fatalf("seats taken after drain %d (%v), want %d", c.SeatsTaken, err, n)
	}
}

func TestSeedIsDeterministic(t *testing.T) {
	spec := academy.SeedSpec{Users: 3, Courses: 12, Seed: 42}
	a, _ := newEnv(t, envOptions{seed: spec})
	b, _ := newEnv(t, envOptions{shards: 2, seed: spec})
	for _, p := range []string{"/v1/courses?limit=100", "/v1/courses/course-7/lessons", "/v1/live-sessions"} {
		ra, rb := a.do("GET", p, "", nil), b.do("GET", p, "", nil)
		if ra.status != 200 || string(ra.body) != string(rb.body) {
			t.Fatalf("%s differs between two seeds of %+v:\n%s\n%s", p, spec, ra.body, rb.body)
		}
	}
	// Re-seeding through the API with another seed changes the data.
	r := a.do("POST", "/admin/seed", adminToken, map[string]any{"users": 3, "courses": 12, "seed": 43})
	if r.status != 200 {
		t.Fatalf("admin seed: %d %s", r.status, r.body)
	}
	if ra, rb := a.do("GET", "/v1/courses?limit=100", "", nil), b.do("GET", "/v1/courses?limit=100", "", nil); string(ra.body) == string(rb.body) {
		t.Fatal("seed 43 gave the same catalog as seed 42")
	}
	if r := a.do("POST", "/admin/reset", adminToken, nil); r.status != 204 {
		t.Fatalf("reset: %d", r.status)
	}
	var page academy.CoursePage
	a.do("GET", "/v1/courses", "", nil).json(t, &page)
	if page.Total != 0 {
		t.Fatalf("%d courses after reset", page.Total)
	}
}

// Replicas starting together on one empty database: exactly one seeds.
func TestSeedIfEmptyConcurrently(t *testing.T) {
	e, _ := newEnv(t, envOptions{})
	var wg sync.WaitGroup
	seeded := make([]bool, 3)
	errs := make([]error, 3)
	for i := range 3 {
		wg.Go(func() {
			seeded[i], errs[i] = e.svc.SeedIfEmpty(context.Background(), academy.SeedSpec{Users: 5, Courses: 2, Seed: 1})
		})
	}
	wg.Wait()
	n := 0
	for i := range 3 {
		if errs[i] != nil {
			t.Fatalf("replica %d: %v", i, errs[i])
		}
		if seeded[i] {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d replicas seeded, want 1", n)
	}
	var page academy.CoursePage
	e.do("GET", "/v1/courses", "", nil).json(t, &page)
	if page.Total != 2 {
		t.Fatalf("%d courses", page.Total)
	}
}

// Clients spread over the classes with ?offset and ?limit; bad values are 400s.
func TestLiveSessionsPage(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 1, Courses: 5, Seed: 1}})
	list := func(q string) []academy.LiveSession {
		var ls struct {
			LiveSessions []academy.LiveSession `json:"live_sessions"`
		}
		e.do("GET", "/v1/live-sessions"+q, "", nil).json(t, &ls)
		return ls.LiveSessions
	}
	all := list("")
	if len(all) != 5 {
		t.Fatalf("%d live sessions, want 5", len(all))
	}
	for i := range all {
		got := list("?limit=1&offset=" + strconv.Itoa(i))
		if len(got) != 1 || got[0].ID != all[i].ID {
			t.Errorf("offset %d: got %+v, want session %s", i, got, all[i].ID)
		}
	}
	if got := list("?offset=3"); len(got) != 2 || got[0].ID != all[3].ID {
		t.Errorf("offset 3: got %d sessions, want the last 2", len(got))
	}
	if got := list("?offset=99"); len(got) != 0 {
		t.Errorf("offset past the end: got %d sessions, want none", len(got))
	}
	for _, q := range []string{"?limit=0", "?limit=101", "?limit=x", "?offset=-1", "?offset=y"} {
		if r := e.do("GET", "/v1/live-sessions"+q, "", nil); r.status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", q, r.status)
		}
	}
}
