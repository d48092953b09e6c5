package httpapi_test

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/reference-app/academy"
)

// TestAccessTokenClaims: tokens for another audience, without one, or
// issued in the future are refused; the Bearer scheme is case-insensitive.
func TestAccessTokenClaims(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 1, Courses: 1, Seed: 1}})
	id := academy.UserIDFromEmail(student(1)).String()
	now := time.Now()
	sign := func(aud []string, iat time.Time) string {
		c := jwt.MapClaims{"sub": id, "role": "student", "iss": "academy", "iat": iat.Unix(), "exp": now.Add(time.Hour).Unix()}
		if aud != nil {
			c["aud"] = aud
		}
		tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte("0123456789abcdef0123456789abcdef"))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	for name, tok := range map[string]string{
		"no aud":      sign(nil, now),
		"another aud": sign([]string{"billing"}, now),
		"future iat":  sign([]string{"academy-api"}, now.Add(time.Hour)),
	} {
		if r := e.do("GET", "/v1/me", tok, nil); r.status != http.StatusUnauthorized {
			t.Errorf("%s: %d %s, want 401", name, r.status, r.body)
		}
	}
	if r := e.do("GET", "/v1/me", sign([]string{"academy-api"}, now), nil); r.status != http.StatusOK {
		t.Errorf("a good token: %d %s", r.status, r.body)
	}
	tok := e.token(student(1), academy.RoleStudent)
	for _, scheme := range []string{"bearer", "BEARER", "Bearer"} {
		if r := e.do("GET", "/v1/me", "", nil, "Authorization", scheme+" "+tok); r.status != http.StatusOK {
			t.Errorf("scheme %q: %d %s, want 200", scheme, r.status, r.body)
		}
	}
	if r := e.do("GET", "/v1/me", "", nil, "Authorization", "Basic "+tok); r.status != http.StatusUnauthorized {
		t.Errorf("scheme Basic: %d, want 401", r.status)
	}
}

// TestPersonalResponsesNotStored: sessions and account data carry
// Cache-Control: no-store.
func TestPersonalResponsesNotStored(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 1, Courses: 1, Seed: 1}})
	tok := e.token(student(1), academy.RoleStudent)
	for _, r := range []response{
		e.login(student(1), "password-1"),
		e.do("GET", "/v1/me", tok, nil),
		e.do("GET", "/v1/me/enrollments", tok, nil),
	} {
		if got := r.header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control %q (status %d), want no-store", got, r.status)
		}
	}
}

// TestAdminFaults: a faulted admin route answers 401 to an anonymous
// caller (the fault fires for admins only), and /healthz refuses faults it
// would never fire.
func TestAdminFaults(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 1, Courses: 1, Seed: 1}})
	if r := e.do("POST", "/admin/faults", adminToken, map[string]any{"route": "/admin/faults", "method": "GET", "abort_status": 503}); r.status != http.StatusCreated {
		t.Fatalf("add fault: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/admin/faults", "", nil); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous on a faulted admin route: %d, want 401", r.status)
	}
	if r := e.do("GET", "/admin/faults", e.token(student(1), academy.RoleStudent), nil); r.status != http.StatusForbidden {
		t.Errorf("student on a faulted admin route: %d, want 403", r.status)
	}
	if r := e.do("GET", "/admin/faults", adminToken, nil); r.status != http.StatusServiceUnavailable {
		t.Errorf("admin on a faulted admin route: %d, want 503", r.status)
	}
	e.do("DELETE", "/admin/faults", adminToken, nil)
	for _, route := range []string{"/healthz", "/readyz"} {
		r := e.do("POST", "/admin/faults", adminToken, map[string]any{"route": route, "abort_status": 503})
		if r.status != http.StatusBadRequest {
			t.Errorf("fault on %s: %d %s, want 400", route, r.status, r.body)
		}
	}
}

// TestShortBodyLeaksNoAddress: a body shorter than its Content-Length
// times out; the error names no network address.
func TestShortBodyLeaksNoAddress(t *testing.T) {
	e, h := newEnv(t, envOptions{plain: true, seed: academy.SeedSpec{Users: 1, Courses: 1, Seed: 1}})
	_ = e
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ReadTimeout = 300 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "POST /v1/sessions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"email\":")
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	host, _, _ := net.SplitHostPort(srv.Listener.Addr().String())
	if resp.StatusCode != http.StatusBadRequest || strings.Contains(string(body), host) || strings.Contains(string(body), "tcp") {
		t.Fatalf("short body: %d %s, want 400 without an address", resp.StatusCode, body)
	}
}

// TestAdminSeedAndResetAreLogged: both leave an info line naming the caller.
func TestAdminSeedAndResetAreLogged(t *testing.T) {
	var buf testutil.Buffer
	e, _ := newEnv(t, envOptions{logger: slog.New(slog.NewTextHandler(&buf, nil))})
	if r := e.do("POST", "/admin/seed", adminToken, map[string]any{"users": 2, "courses": 1, "seed": 7}); r.status != http.StatusOK {
		t.Fatalf("seed: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/admin/reset", adminToken, nil); r.status != http.StatusNoContent {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	log := buf.String()
	for _, want := range []string{`msg="data seeded" by=admin_token users=2 courses=1 seed=7`, `msg="data reset" by=admin_token`} {
		if !strings.Contains(log, want) {
			t.Errorf("log has no %q:\n%s", want, log)
		}
	}
}
