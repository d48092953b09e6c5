package httpapi_test

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/trendtactics/loadlab/reference-app/academy"
	"github.com/trendtactics/loadlab/reference-app/httpapi"
)

// roomyMFAThrottle lets tests try many codes.
var roomyMFAThrottle = httpapi.MFAThrottle{PerAccount: 1, Burst: 100}

// testClock is a settable clock for the service.
type testClock struct{ ns atomic.Int64 }

func newTestClock() *testClock {
	c := &testClock{}
	c.ns.Store(time.Now().Truncate(30 * time.Second).UnixNano()) // the start of a time step
	return c
}
func (c *testClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *testClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// code is the TOTP code of secret at the clock's time (RFC 6238, computed
// by the library an authenticator app would use).
func (c *testClock) code(t *testing.T, secret string, offset time.Duration) string {
	t.Helper()
	code, err := totp.GenerateCode(secret, c.now().Add(offset))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// enrollTOTP turns MFA on for the holder of token and returns the secret
// and the recovery codes.
func (e *env) enrollTOTP(t *testing.T, clock *testClock, token string) (string, []string) {
	t.Helper()
	r := e.do("POST", "/v1/me/mfa/totp", token, nil)
	wantStatus(t, "enroll", r, http.StatusCreated, "")
	var en academy.TOTPEnrollment
	r.json(t, &en)
	r = e.do("POST", "/v1/me/mfa/totp/confirm", token, map[string]string{"code": clock.code(t, en.Secret, 0)})
	wantStatus(t, "confirm", r, http.StatusOK, "")
	var out struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	r.json(t, &out)
	return en.Secret, out.RecoveryCodes
}

func TestTOTPEnrollConfirmLogin(t *testing.T) {
	clock := newTestClock()
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 3, Courses: 1, Seed: 1}, svc: academy.Options{Now: clock.now},
		opts: httpapi.Options{MFAThrottle: roomyMFAThrottle}}) // TestTOTPThrottle tests the throttle
	s := e.signIn(1)
	login := func(otpCode, recovery string) response {
		return e.do("POST", "/v1/sessions", "", map[string]string{"email": student(1), "password": passwordOf(1), "otp": otpCode, "recovery_code": recovery})
	}

	// Enrollment: a secret and an otpauth:// URL an authenticator app reads.
	r := e.do("POST", "/v1/me/mfa/totp", s.Token, nil)
	wantStatus(t, "enroll", r, http.StatusCreated, "")
	var en academy.TOTPEnrollment
	r.json(t, &en)
	key, err := otp.NewKeyFromURL(en.OTPAuthURL)
	if err != nil || key.Type() != "totp" || key.Secret() != en.Secret || key.Issuer() != "TrendTactics Academy" ||
		key.AccountName() != student(1) || key.Period() != 30 || key.Digits() != otp.DigitsSix {
		t.Fatalf("enrollment %+v: key %v %v", en, key, err)
	}
	// Pending: the login needs no code yet; a wrong code does not confirm.
	wantStatus(t, "login while pending", login("", ""), http.StatusOK, "")
	wantStatus(t, "confirm with a wrong code", e.do("POST", "/v1/me/mfa/totp/confirm", s.Token, map[string]string{"code": "000000x"}), http.StatusBadRequest, "invalid_otp")
	wantStatus(t, "confirm with the code of 2 steps later", e.do("POST", "/v1/me/mfa/totp/confirm", s.Token,
		map[string]string{"code": clock.code(t, en.Secret, 60*time.Second)}), http.StatusBadRequest, "invalid_otp")
	r = e.do("POST", "/v1/me/mfa/totp/confirm", s.Token, map[string]string{"code": clock.code(t, en.Secret, 0)})
	wantStatus(t, "confirm", r, http.StatusOK, "")
	var out struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	r.json(t, &out)
	if len(out.RecoveryCodes) != academy.RecoveryCodes || len(out.RecoveryCodes[0]) != 19 {
		t.Fatalf("recovery codes %q", out.RecoveryCodes)
	}
	wantStatus(t, "enroll again", e.do("POST", "/v1/me/mfa/totp", s.Token, nil), http.StatusConflict, "mfa_already_enabled")
	wantStatus(t, "confirm again", e.do("POST", "/v1/me/mfa/totp/confirm", s.Token, map[string]string{"code": clock.code(t, en.Secret, 0)}), http.StatusConflict, "mfa_already_enabled")

	// Login now needs the second factor, checked after the password.
	wantStatus(t, "login without a code", login("", ""), http.StatusUnauthorized, "mfa_required")
	wantStatus(t, "login with a wrong password and a code", e.do("POST", "/v1/sessions", "", map[string]string{"email": student(1), "password": "wrong-password", "otp": clock.code(t, en.Secret, 0)}), http.StatusUnauthorized, "invalid_credentials")
	wantStatus(t, "login replaying the confirmation's code", login(clock.code(t, en.Secret, 0), ""), http.StatusUnauthorized, "invalid_otp")
	clock.advance(30 * time.Second)
	wantStatus(t, "login with the code of 2 steps ahead", login(clock.code(t, en.Secret, 60*time.Second), ""), http.StatusUnauthorized, "invalid_otp")
	code := clock.code(t, en.Secret, 0)
	wantStatus(t, "login with the current code", login(code, ""), http.StatusOK, "")
	wantStatus(t, "login replaying it", login(code, ""), http.StatusUnauthorized, "invalid_otp")
	clock.advance(30 * time.Second)
	wantStatus(t, "login with the previous step's code, after a later one was used", login(code, ""), http.StatusUnauthorized, "invalid_otp")
	clock.advance(30 * time.Second)
	wantStatus(t, "login with the previous step's code (clock drift)", login(clock.code(t, en.Secret, -30*time.Second), ""), http.StatusOK, "")

	// Recovery codes: each works once, in any case and with or without hyphens.
	wantStatus(t, "login with a recovery code", login("", out.RecoveryCodes[0]), http.StatusOK, "")
	wantStatus(t, "login with it again", login("", out.RecoveryCodes[0]), http.StatusUnauthorized, "invalid_otp")
	wantStatus(t, "login with another, reformatted", login("", strings.ToUpper(strings.ReplaceAll(out.RecoveryCodes[1], "-", ""))), http.StatusOK, "")
	wantStatus(t, "login with a made-up one", login("", "aaaa-bbbb-cccc-dddd"), http.StatusUnauthorized, "invalid_otp")

	// Turning MFA off needs a fresh second factor.
	wantStatus(t, "disable without a code", e.do("DELETE", "/v1/me/mfa/totp", s.Token, map[string]string{}), http.StatusBadRequest, "invalid_input")
	wantStatus(t, "disable with a wrong code", e.do("DELETE", "/v1/me/mfa/totp", s.Token, map[string]string{"code": "123"}), http.StatusBadRequest, "invalid_otp")
	clock.advance(30 * time.Second)
	wantStatus(t, "disable", e.do("DELETE", "/v1/me/mfa/totp", s.Token, map[string]string{"code": clock.code(t, en.Secret, 0)}), http.StatusNoContent, "")
	wantStatus(t, "login after disable", login("", ""), http.StatusOK, "")
	wantStatus(t, "disable again", e.do("DELETE", "/v1/me/mfa/totp", s.Token, map[string]string{"code": "123456"}), http.StatusConflict, "mfa_not_enabled")

	// Bad callers and bad input: 4xx JSON.
	wantStatus(t, "enroll anonymous", e.do("POST", "/v1/me/mfa/totp", "", nil), http.StatusUnauthorized, "unauthenticated")
	wantStatus(t, "enroll with the admin token", e.do("POST", "/v1/me/mfa/totp", e.admin, nil), http.StatusForbidden, "account_required")
	wantStatus(t, "confirm with nothing pending", e.do("POST", "/v1/me/mfa/totp/confirm", s.Token, map[string]string{"code": "123456"}), http.StatusConflict, "mfa_not_pending")
	wantStatus(t, "confirm with a number", e.do("POST", "/v1/me/mfa/totp/confirm", s.Token, `{"code":123456}`), http.StatusBadRequest, "invalid_input")
	wantStatus(t, "login with an otp of the wrong type", e.do("POST", "/v1/sessions", "", `{"email":"x@y.z","password":"p","otp":1}`), http.StatusBadRequest, "invalid_input")
}

// Of concurrent logins with one fresh code, exactly one gets in: a code is
// accepted once (the step is recorded with a conditional UPDATE).
func TestTOTPCodeIsAcceptedOnceUnderConcurrency(t *testing.T) {
	clock := newTestClock()
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 2, Courses: 1, Seed: 1}, svc: academy.Options{Now: clock.now},
		opts: httpapi.Options{MFAThrottle: roomyMFAThrottle}})
	secret, _ := e.enrollTOTP(t, clock, e.signIn(1).Token)
	clock.advance(30 * time.Second)
	code := clock.code(t, secret, 0)
	const n = 6
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			statuses[i] = e.do("POST", "/v1/sessions", "", map[string]string{"email": student(1), "password": passwordOf(1), "otp": code}).status
		})
	}
	wg.Wait()
	ok := 0
	for _, s := range statuses {
		if s == http.StatusOK {
			ok++
		} else if s != http.StatusUnauthorized {
			t.Fatalf("statuses %v", statuses)
		}
	}
	if ok != 1 {
		t.Fatalf("%d logins got in with one code, want 1 (statuses %v)", ok, statuses)
	}
}

// Wrong codes are budgeted per account: past the budget even the right code
// gets 429 mfa_throttled with Retry-After; another account is not affected.
func TestTOTPThrottle(t *testing.T) {
	clock := newTestClock()
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 3, Courses: 1, Seed: 1}, svc: academy.Options{Now: clock.now},
		opts: httpapi.Options{MFAThrottle: httpapi.MFAThrottle{PerAccount: 1.0 / 3600, Burst: 3}}})
	s1, s2 := e.signIn(1), e.signIn(2)
	secret1, _ := e.enrollTOTP(t, clock, s1.Token)
	secret2, _ := e.enrollTOTP(t, clock, s2.Token)
	clock.advance(30 * time.Second)
	login := func(i int, code string) response {
		return e.do("POST", "/v1/sessions", "", map[string]string{"email": student(i), "password": passwordOf(i), "otp": code})
	}
	for range 3 {
		wantStatus(t, "wrong code", login(1, "000000"), http.StatusUnauthorized, "invalid_otp")
	}
	r := login(1, clock.code(t, secret1, 0))
	wantStatus(t, "right code past the budget", r, http.StatusTooManyRequests, "mfa_throttled")
	if r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	// The budget is the account's, wherever the code is tried.
	wantStatus(t, "disable past the budget", e.do("DELETE", "/v1/me/mfa/totp", s1.Token,
		map[string]string{"code": "111111"}), http.StatusTooManyRequests, "mfa_throttled")
	// Right codes spend nothing; other accounts have their own budget.
	for range 4 {
		wantStatus(t, "other account", login(2, clock.code(t, secret2, 0)), http.StatusOK, "")
		clock.advance(30 * time.Second)
	}
}

// A role that must use MFA signs in to a token that may only enroll; once
// enrolled, a refresh or a new login (with a code) gives a full token.
func TestMFARequiredForRole(t *testing.T) {
	clock := newTestClock()
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 2, Courses: 1, Seed: 1},
		svc:  academy.Options{Now: clock.now, MFARequiredFor: []academy.Role{academy.RoleInstructor, academy.RoleAdmin}},
		opts: httpapi.Options{MFAThrottle: roomyMFAThrottle}})
	var s academy.Session
	r := e.login(instructor(1), passwordOf(1))
	wantStatus(t, "instructor login", r, http.StatusOK, "")
	r.json(t, &s)
	if s.Scope != academy.ScopeMFASetup {
		t.Fatalf("session scope %q, want mfa-setup", s.Scope)
	}
	course := map[string]any{"slug": "mfa-course", "title": "T", "category": "c", "capacity": 5}
	wantStatus(t, "create a course before enrolling", e.do("POST", "/v1/courses", s.Token, course), http.StatusForbidden, "mfa_enrollment_required")
	wantStatus(t, "my enrollments before enrolling", e.do("GET", "/v1/me/enrollments", s.Token, nil), http.StatusForbidden, "mfa_enrollment_required")
	wantStatus(t, "an API key before enrolling", e.do("POST", "/v1/me/api-keys", s.Token, map[string]string{"name": "k", "scope": "read"}), http.StatusForbidden, "mfa_enrollment_required")
	wantStatus(t, "the public catalog", e.do("GET", "/v1/courses/course-1", s.Token, nil), http.StatusOK, "")
	wantStatus(t, "me", e.do("GET", "/v1/me", s.Token, nil), http.StatusOK, "")
	// A refresh before enrolling stays restricted.
	r = e.refresh(s.RefreshToken)
	wantStatus(t, "refresh before enrolling", r, http.StatusOK, "")
	r.json(t, &s)
	if s.Scope != academy.ScopeMFASetup {
		t.Fatalf("refreshed scope %q, want mfa-setup", s.Scope)
	}
	secret, _ := e.enrollTOTP(t, clock, s.Token)
	// Enrolled: a refresh of the same session gives a full token.
	r = e.refresh(s.RefreshToken)
	wantStatus(t, "refresh after enrolling", r, http.StatusOK, "")
	var full academy.Session
	r.json(t, &full)
	if full.Scope != "" {
		t.Fatalf("scope after enrolling %q, want none", full.Scope)
	}
	wantStatus(t, "create a course", e.do("POST", "/v1/courses", full.Token, course), http.StatusCreated, "")
	// New logins need the code.
	wantStatus(t, "login without a code", e.login(instructor(1), passwordOf(1)), http.StatusUnauthorized, "mfa_required")
	clock.advance(30 * time.Second)
	r = e.do("POST", "/v1/sessions", "", map[string]string{"email": instructor(1), "password": passwordOf(1), "otp": clock.code(t, secret, 0)})
	wantStatus(t, "login with a code", r, http.StatusOK, "")
	// Students are not concerned; admins are.
	if st := e.signIn(1); st.Scope != "" {
		t.Fatalf("student scope %q", st.Scope)
	}
	var adm academy.Session
	r = e.login(academy.SeedAdminEmail, academy.SeedAdminPassword)
	wantStatus(t, "admin login", r, http.StatusOK, "")
	r.json(t, &adm)
	if adm.Scope != academy.ScopeMFASetup {
		t.Fatalf("admin scope %q, want mfa-setup", adm.Scope)
	}
	wantStatus(t, "an admin route before enrolling", e.do("GET", "/admin/faults", adm.Token, nil), http.StatusForbidden, "mfa_enrollment_required")
}
