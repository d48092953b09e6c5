package httpapi_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/reference-app/academy"
	"github.com/trendtactics/loadlab/reference-app/httpapi"
)

// signIn signs the seeded student-i in and returns the session.
func (e *env) signIn(i int) academy.Session {
	e.t.Helper()
	var s academy.Session
	r := e.login(student(i), passwordOf(i))
	if r.status != http.StatusOK {
		e.t.Fatalf("login %s: %d %s", student(i), r.status, r.body)
	}
	r.json(e.t, &s)
	return s
}

func passwordOf(i int) string { return fmt.Sprintf("password-%d", i) }

// refresh presents a refresh token and returns the answer.
func (e *env) refresh(token string) response {
	e.t.Helper()
	return e.do("POST", "/v1/sessions/refresh", "", map[string]string{"refresh_token": token})
}

// wantStatus fails unless r has status and, for errors, the JSON error code.
func wantStatus(t *testing.T, what string, r response, status int, code string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d (%s), want %d", what, r.status, r.body, status)
	}
	if code != "" {
		if got := r.errorCode(t); got != code {
			t.Fatalf("%s: error code %q, want %q (%s)", what, got, code, r.body)
		}
	}
}

func TestLogoutRevokesTheSession(t *testing.T) {
	redisURL, _ := testutil.StartRedis(t, 0)
	e, _ := newEnv(t, envOptions{redisURL: redisURL, seed: academy.SeedSpec{Users: 3, Courses: 1, Seed: 1}})
	// A second replica over the same databases and the same Redis.
	e2, _ := newEnv(t, envOptions{urls: e.urls, redisURL: redisURL})

	a, b := e.signIn(1), e.signIn(1) // two sessions of one user (two devices)
	wantStatus(t, "me with a", e.do("GET", "/v1/me", a.Token, nil), http.StatusOK, "")
	wantStatus(t, "me with a on replica 2", e2.do("GET", "/v1/me", a.Token, nil), http.StatusOK, "") // caches "active"

	wantStatus(t, "logout", e.do("DELETE", "/v1/sessions", a.Token, nil), http.StatusNoContent, "")
	wantStatus(t, "me after logout", e.do("GET", "/v1/me", a.Token, nil), http.StatusUnauthorized, "invalid_token")
	wantStatus(t, "me after logout on replica 2", e2.do("GET", "/v1/me", a.Token, nil), http.StatusUnauthorized, "invalid_token")
	wantStatus(t, "refresh after logout", e.refresh(a.RefreshToken), http.StatusUnauthorized, "invalid_token")
	wantStatus(t, "logout again", e.do("DELETE", "/v1/sessions", a.Token, nil), http.StatusUnauthorized, "invalid_token")

	// The other session of the same user goes on.
	wantStatus(t, "me with b", e.do("GET", "/v1/me", b.Token, nil), http.StatusOK, "")
	wantStatus(t, "refresh b", e.refresh(b.RefreshToken), http.StatusOK, "")

	// Bad calls: 4xx JSON.
	wantStatus(t, "logout anonymous", e.do("DELETE", "/v1/sessions", "", nil), http.StatusUnauthorized, "unauthenticated")
	wantStatus(t, "logout with a forged token", e.do("DELETE", "/v1/sessions", a.Token+"x", nil), http.StatusUnauthorized, "invalid_token")
	wantStatus(t, "logout with a sessionless token", e.do("DELETE", "/v1/sessions", e.token(student(2), academy.RoleStudent), nil), http.StatusBadRequest, "no_session")
	wantStatus(t, "logout with the admin token", e.do("DELETE", "/v1/sessions", e.admin, nil), http.StatusBadRequest, "no_session")
	if got := e.do("DELETE", "/v1/sessions", b.Token, nil).header.Get("Cache-Control"); got != "no-store" {
		t.Fatalf("logout Cache-Control = %q, want no-store", got)
	}
}

// The revocation reaches a replica that does not share the cache within
// academy.Options.SessionCheckTTL: the database says so once its cached
// answer ages out.
func TestLogoutReachesAReplicaWithItsOwnCache(t *testing.T) {
	const ttl = 300 * time.Millisecond
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 2, Courses: 1, Seed: 1}, svc: academy.Options{SessionCheckTTL: ttl}})
	e2, _ := newEnv(t, envOptions{urls: e.urls, svc: academy.Options{SessionCheckTTL: ttl}})
	a := e.signIn(1)
	wantStatus(t, "me on replica 2", e2.do("GET", "/v1/me", a.Token, nil), http.StatusOK, "")
	wantStatus(t, "logout", e.do("DELETE", "/v1/sessions", a.Token, nil), http.StatusNoContent, "")
	wantStatus(t, "me on replica 1", e.do("GET", "/v1/me", a.Token, nil), http.StatusUnauthorized, "invalid_token")
	// The in-process cache of replica 2 expires by the wall clock: wait it out.
	time.Sleep(ttl + 200*time.Millisecond)
	wantStatus(t, "me on replica 2 later", e2.do("GET", "/v1/me", a.Token, nil), http.StatusUnauthorized, "invalid_token")
}

func TestRefreshTokenReuseRevokesTheFamily(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 3, Courses: 1, Seed: 1}})
	s0 := e.signIn(1)
	other := e.signIn(1)
	// The victim rotates: s0's refresh token is spent, s1 is current.
	r := e.refresh(s0.RefreshToken)
	wantStatus(t, "rotate", r, http.StatusOK, "")
	var s1 academy.Session
	r.json(t, &s1)
	wantStatus(t, "me with s1", e.do("GET", "/v1/me", s1.Token, nil), http.StatusOK, "")
	// The thief replays the stolen, spent token: the family is revoked.
	wantStatus(t, "reuse", e.refresh(s0.RefreshToken), http.StatusUnauthorized, "refresh_token_reused")
	wantStatus(t, "victim's refresh token", e.refresh(s1.RefreshToken), http.StatusUnauthorized, "invalid_token")
	wantStatus(t, "victim's access token", e.do("GET", "/v1/me", s1.Token, nil), http.StatusUnauthorized, "invalid_token")
	wantStatus(t, "first access token", e.do("GET", "/v1/me", s0.Token, nil), http.StatusUnauthorized, "invalid_token")
	// Another session of the same user is another family.
	wantStatus(t, "other session", e.do("GET", "/v1/me", other.Token, nil), http.StatusOK, "")
	wantStatus(t, "other refresh", e.refresh(other.RefreshToken), http.StatusOK, "")

	// Bad input: 4xx JSON, never 5xx.
	for _, c := range []struct {
		body   any
		status int
		code   string
	}{
		{map[string]string{"refresh_token": ""}, 401, "invalid_token"},
		{map[string]string{"refresh_token": "not-a-token"}, 401, "invalid_token"},
		{map[string]string{"refresh_token": s0.RefreshToken[:len(s0.RefreshToken)-2] + "AA"}, 401, "invalid_token"},
		{map[string]any{"refresh_token": 42}, 400, ""},
		{`{"refresh_token":`, 400, ""},
		{"", 400, ""},
	} {
		wantStatus(t, "refresh with bad input", e.do("POST", "/v1/sessions/refresh", "", c.body), c.status, c.code)
	}
}

// Of concurrent refreshes with one token, exactly one rotates and the next
// is a reuse, which revokes the family, the winner's new tokens included;
// the rest find the family revoked (the token's row lock orders them).
func TestConcurrentRefreshesWithOneToken(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 2, Courses: 1, Seed: 1}})
	s := e.signIn(1)
	const n = 8
	var wg sync.WaitGroup
	results := make([]response, n)
	for i := range n {
		wg.Go(func() { results[i] = e.refresh(s.RefreshToken) })
	}
	wg.Wait()
	var won []academy.Session
	reused, revoked := 0, 0
	for _, r := range results {
		switch {
		case r.status == http.StatusOK:
			var next academy.Session
			r.json(t, &next)
			won = append(won, next)
		case r.status == http.StatusUnauthorized && r.errorCode(t) == "refresh_token_reused":
			reused++
		case r.status == http.StatusUnauthorized && r.errorCode(t) == "invalid_token":
			revoked++
		default:
			t.Fatalf("concurrent refresh: %d %s", r.status, r.body)
		}
	}
	if len(won) != 1 || reused != 1 || revoked != n-2 {
		t.Fatalf("%d rotations, %d reuses, %d revoked, want 1, 1, %d", len(won), reused, revoked, n-2)
	}
	wantStatus(t, "winner's access token", e.do("GET", "/v1/me", won[0].Token, nil), http.StatusUnauthorized, "invalid_token")
	wantStatus(t, "winner's refresh token", e.refresh(won[0].RefreshToken), http.StatusUnauthorized, "invalid_token")
}

func TestRefreshTokenExpires(t *testing.T) {
	var now atomic.Int64
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now.Store(start.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 2, Courses: 1, Seed: 1},
		svc: academy.Options{Now: clock, RefreshTTL: time.Hour}})
	s := e.signIn(1)
	now.Store(start.Add(59 * time.Minute).UnixNano())
	r := e.refresh(s.RefreshToken)
	wantStatus(t, "refresh before expiry", r, http.StatusOK, "")
	r.json(t, &s)
	now.Store(start.Add(59*time.Minute + time.Hour).UnixNano()) // the new token lives an hour from its rotation
	wantStatus(t, "refresh after expiry", e.refresh(s.RefreshToken), http.StatusUnauthorized, "invalid_token")
}

// BenchmarkSessionCheck measures what the revocation check costs: GET
// /v1/me/enrollments with an access token of a session (a cache lookup of
// the session per request) against a sessionless token of the same user
// (IssueToken: signature only), in one run; the figure is the ratio.
func BenchmarkSessionCheck(b *testing.B) {
	e, _ := newEnv(b, envOptions{seed: academy.SeedSpec{Users: 2, Courses: 1, Seed: 1},
		opts: httpapi.Options{DisableRateLimit: true, MaxInFlight: -1}})
	withSession := e.signIn(1).Token
	sessionless := e.token(student(1), academy.RoleStudent)
	for _, c := range []struct{ name, token string }{{"sessionless-token", sessionless}, {"session-token", withSession}} {
		b.Run(c.name, func(b *testing.B) {
			hammer(b, func(int64) *http.Request {
				r, _ := http.NewRequest("GET", e.srv.URL+"/v1/me/enrollments", nil)
				r.Header.Set("Authorization", "Bearer "+c.token)
				return r
			})
		})
	}
}
