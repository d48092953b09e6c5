package httpapi_test

import (
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/trendtactics/loadlab/reference-app/academy"
	"github.com/trendtactics/loadlab/reference-app/httpapi"
)

func (e *env) login(email, password string) response {
	e.t.Helper()
	return e.do("POST", "/v1/sessions", "", map[string]string{"email": email, "password": password})
}

// outcome is what a client learns from a login answer.
func outcome(t *testing.T, r response) string {
	t.Helper()
	if r.status == http.StatusOK {
		return "200"
	}
	return strconv.Itoa(r.status) + " " + r.errorCode(t)
}

// TestLoginThrottlePerAccount: 500 wrong passwords in a burst used to leave
// the right one working; now the account is throttled (429 + Retry-After)
// before any password check, unknown accounts answer exactly as known ones,
// and successful logins are never throttled.
func TestLoginThrottlePerAccount(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 3, Courses: 1, Seed: 1},
		opts: httpapi.Options{LoginThrottle: httpapi.LoginThrottle{PerAccount: 1.0 / 6, AccountBurst: 10}}})
	var mu sync.Mutex
	counts := map[string]int{}
	var wg sync.WaitGroup
	for w := range 20 {
		wg.Add(1)
		go func() { // ends after its 25 attempts
			defer wg.Done()
			for i := range 25 {
				r := e.login(student(1), "wrong-"+strconv.Itoa(w*25+i))
				if r.status == http.StatusTooManyRequests && r.header.Get("Retry-After") == "" {
					t.Errorf("429 without Retry-After")
				}
				mu.Lock()
				counts[outcome(t, r)]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if counts["429 login_throttled"] < 480 || counts["200"] != 0 {
		t.Fatalf("500 wrong passwords: %v, want at most 20 answered 401 and the rest 429 login_throttled", counts)
	}
	if r := e.login(student(1), "password-1"); r.status != http.StatusTooManyRequests {
		t.Fatalf("the right password after 500 wrong ones: %d %s, want 429", r.status, r.body)
	}

	// No enumeration: an unknown account gets what a known one gets.
	var known, unknown []string
	for range 12 {
		known = append(known, outcome(t, e.login(student(2), "wrong password")))
		unknown = append(unknown, outcome(t, e.login("nobody@academy.test", "wrong password")))
	}
	for i := range known {
		if known[i] != unknown[i] {
			t.Fatalf("attempt %d: known account %q, unknown account %q; want the same", i+1, known, unknown)
		}
	}
	if known[0] != "401 invalid_credentials" || known[11] != "429 login_throttled" {
		t.Fatalf("attempts on a fresh account: %q", known)
	}

	// Successes take no token: a user who logs in again and again is served.
	for i := range 50 {
		if r := e.login(student(3), "password-3"); r.status != http.StatusOK {
			t.Fatalf("successful login %d: %d %s", i+1, r.status, r.body)
		}
	}
}

// TestLoginThrottlePerIP: failures spread over many accounts from one IP
// exhaust that IP's budget; a further login from it is throttled whatever
// the account.
func TestLoginThrottlePerIP(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 1, Courses: 1, Seed: 1},
		opts: httpapi.Options{LoginThrottle: httpapi.LoginThrottle{PerIP: 0.1, IPBurst: 20}}})
	for i := range 20 {
		if r := e.login("guess-"+strconv.Itoa(i)+"@academy.test", "wrong password"); r.status != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i+1, r.status, r.body)
		}
	}
	r := e.login(student(1), "password-1")
	if r.status != http.StatusTooManyRequests || r.errorCode(t) != "login_throttled" || r.header.Get("Retry-After") == "" {
		t.Fatalf("login from an IP with 20 failures: %d %v %s, want 429 login_throttled with Retry-After", r.status, r.header, r.body)
	}
}
