package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/trendtactics/loadlab/reference-app/academy"
	"github.com/trendtactics/loadlab/reference-app/httpapi"
)

// createKey creates an API key with the session token and returns it.
func (e *env) createKey(t *testing.T, token, name string, scope academy.Scope) academy.NewAPIKey {
	t.Helper()
	r := e.do("POST", "/v1/me/api-keys", token, map[string]string{"name": name, "scope": string(scope)})
	wantStatus(t, "create api key", r, http.StatusCreated, "")
	var k academy.NewAPIKey
	r.json(t, &k)
	return k
}

// withKey sends a request authenticated by an API key.
func (e *env) withKey(key, method, path string, body any) response {
	e.t.Helper()
	return e.do(method, path, "", body, "X-API-Key", key)
}

func TestAPIKeys(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 3, Courses: 2, Seed: 1}})
	s := e.signIn(1)
	ro := e.createKey(t, s.Token, "dashboard reader", academy.ScopeRead)
	rw := e.createKey(t, s.Token, "enrollment bot", academy.ScopeWrite)
	if !strings.HasPrefix(ro.Key, "ak_") || ro.Prefix != ro.Key[:11] || ro.Scope != academy.ScopeRead || ro.Key == rw.Key {
		t.Fatalf("created %+v and %+v", ro, rw)
	}
	// Stored hashed: the database holds no key.
	conn, err := pgx.Connect(t.Context(), e.urls[0])
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var plain int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM api_keys WHERE position(convert_to($1, 'UTF8') in key_hash) > 0 OR prefix = $1`, ro.Key).Scan(&plain); err != nil || plain != 0 {
		t.Fatalf("key stored in the clear: %d %v", plain, err)
	}

	// A key authenticates as its owner.
	var me academy.User
	r := e.withKey(ro.Key, "GET", "/v1/me", nil)
	wantStatus(t, "me with the read key", r, http.StatusOK, "")
	r.json(t, &me)
	if me.Email != student(1) {
		t.Fatalf("me = %+v", me)
	}
	// Read-only: safe methods only.
	wantStatus(t, "enroll with the read key", e.withKey(ro.Key, "POST", "/v1/courses/course-1/enrollments", nil), http.StatusForbidden, "insufficient_scope")
	wantStatus(t, "enroll with the write key", e.withKey(rw.Key, "POST", "/v1/courses/course-1/enrollments", nil), http.StatusCreated, "")
	wantStatus(t, "my enrollments with the read key", e.withKey(ro.Key, "GET", "/v1/me/enrollments", nil), http.StatusOK, "")
	// A key manages no credentials, whatever its scope.
	wantStatus(t, "create a key with a key", e.withKey(rw.Key, "POST", "/v1/me/api-keys", map[string]string{"name": "x", "scope": "write"}), http.StatusForbidden, "session_required")
	wantStatus(t, "list keys with a key", e.withKey(rw.Key, "GET", "/v1/me/api-keys", nil), http.StatusForbidden, "session_required")
	wantStatus(t, "enroll mfa with a key", e.withKey(rw.Key, "POST", "/v1/me/mfa/totp", nil), http.StatusForbidden, "session_required")

	// Listing shows no secret.
	r = e.do("GET", "/v1/me/api-keys", s.Token, nil)
	wantStatus(t, "list", r, http.StatusOK, "")
	if strings.Contains(string(r.body), ro.Key) || strings.Contains(string(r.body), `"key"`) {
		t.Fatalf("listing shows a key: %s", r.body)
	}
	var list struct {
		APIKeys []academy.APIKey `json:"api_keys"`
	}
	r.json(t, &list)
	if len(list.APIKeys) != 2 || list.APIKeys[0].ID != ro.ID || list.APIKeys[1].Name != "enrollment bot" {
		t.Fatalf("list %+v", list)
	}

	// Rotation: a new key works beside the old one, then the old one is revoked.
	ro2 := e.createKey(t, s.Token, "dashboard reader (rotated)", academy.ScopeRead)
	wantStatus(t, "old key during the overlap", e.withKey(ro.Key, "GET", "/v1/me", nil), http.StatusOK, "")
	wantStatus(t, "new key during the overlap", e.withKey(ro2.Key, "GET", "/v1/me", nil), http.StatusOK, "")
	wantStatus(t, "revoke the old key", e.do("DELETE", "/v1/me/api-keys/"+ro.ID.String(), s.Token, nil), http.StatusNoContent, "")
	wantStatus(t, "old key after revocation", e.withKey(ro.Key, "GET", "/v1/me", nil), http.StatusUnauthorized, "invalid_api_key")
	wantStatus(t, "new key after revocation", e.withKey(ro2.Key, "GET", "/v1/me", nil), http.StatusOK, "")
	wantStatus(t, "revoke again", e.do("DELETE", "/v1/me/api-keys/"+ro.ID.String(), s.Token, nil), http.StatusNoContent, "")

	// Another user can neither see nor revoke them.
	other := e.signIn(2)
	theirs := e.createKey(t, other.Token, "theirs", academy.ScopeRead)
	wantStatus(t, "revoke another's key", e.do("DELETE", "/v1/me/api-keys/"+rw.ID.String(), other.Token, nil), http.StatusNotFound, "api_key_not_found")
	wantStatus(t, "their key still works", e.withKey(rw.Key, "GET", "/v1/me", nil), http.StatusOK, "")

	// Bad input and forged keys: 4xx JSON.
	for _, c := range []struct {
		what, key string
	}{
		{"garbage", "not-a-key"},
		{"no prefix", strings.TrimPrefix(rw.Key, "ak_")},
		{"one character changed", rw.Key[:len(rw.Key)-1] + map[bool]string{true: "B", false: "A"}[strings.HasSuffix(rw.Key, "A")]},
		{"owner swapped", ro2.Key[:3+32] + theirs.Key[3+32:]}, // user 1's secret, user 2's id
	} {
		wantStatus(t, c.what, e.withKey(c.key, "GET", "/v1/me", nil), http.StatusUnauthorized, "invalid_api_key")
	}
	wantStatus(t, "key and token together", e.do("GET", "/v1/me", s.Token, nil, "X-API-Key", rw.Key), http.StatusBadRequest, "invalid_input")
	for _, body := range []any{map[string]string{"name": "x", "scope": "admin"}, map[string]string{"name": "", "scope": "read"}, `{"name":"x","scope":1}`, `{`} {
		wantStatus(t, fmt.Sprintf("create with %v", body), e.do("POST", "/v1/me/api-keys", s.Token, body), http.StatusBadRequest, "")
	}
	wantStatus(t, "revoke a malformed id", e.do("DELETE", "/v1/me/api-keys/nope", s.Token, nil), http.StatusNotFound, "api_key_not_found")
	wantStatus(t, "create with the admin token", e.do("POST", "/v1/me/api-keys", e.admin, map[string]string{"name": "x", "scope": "read"}), http.StatusForbidden, "account_required")
	wantStatus(t, "create anonymous", e.do("POST", "/v1/me/api-keys", "", map[string]string{"name": "x", "scope": "read"}), http.StatusUnauthorized, "unauthenticated")
}

// At most academy.MaxAPIKeys unrevoked keys per user, under concurrency too.
func TestAPIKeyBound(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 2, Courses: 1, Seed: 1}})
	tok := e.signIn(1).Token
	const n = academy.MaxAPIKeys + 5
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			statuses[i] = e.do("POST", "/v1/me/api-keys", tok, map[string]string{"name": fmt.Sprint("k", i), "scope": "read"}).status
		})
	}
	wg.Wait()
	created, refused := 0, 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
			refused++
		}
	}
	if created != academy.MaxAPIKeys || refused != n-academy.MaxAPIKeys {
		t.Fatalf("statuses %v: %d created, %d refused", statuses, created, refused)
	}
}

// Each key has its own request budget (429 + Retry-After past it); another
// key of the same user is not affected.
func TestAPIKeyRateLimit(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 2, Courses: 1, Seed: 1},
		opts: httpapi.Options{APIKeyLimit: httpapi.APIKeyLimit{PerKey: 0.001, Burst: 5}}})
	tok := e.signIn(1).Token
	a, b := e.createKey(t, tok, "a", academy.ScopeRead), e.createKey(t, tok, "b", academy.ScopeRead)
	for i := range 5 {
		wantStatus(t, fmt.Sprint("request ", i), e.withKey(a.Key, "GET", "/v1/courses/course-1", nil), http.StatusOK, "")
	}
	r := e.withKey(a.Key, "GET", "/v1/courses/course-1", nil)
	wantStatus(t, "past the budget", r, http.StatusTooManyRequests, "rate_limited")
	if r.header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	wantStatus(t, "the other key", e.withKey(b.Key, "GET", "/v1/courses/course-1", nil), http.StatusOK, "")
	wantStatus(t, "the session token", e.do("GET", "/v1/courses/course-1", tok, nil), http.StatusOK, "")
}
