package httpapi_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/reference-app/academy"
	"github.com/trendtactics/loadlab/reference-app/postgres"
)

// concurrently sends n requests at once (req(i) sends the i-th) and
// returns their responses.
func concurrently(n int, req func(i int) response) []response {
	out := make([]response, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			out[i] = req(i)
		})
	}
	close(start)
	wg.Wait()
	return out
}

// checkShed fails unless r is the overloaded 503: Retry-After and the
// usual JSON error body.
func checkShed(t *testing.T, what string, r response) {
	t.Helper()
	if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") != "1" || r.errorCode(t) != "overloaded" {
		t.Errorf("%s: %d, Retry-After %q, %s: want 503 overloaded with Retry-After: 1", what, r.status, r.header.Get("Retry-After"), r.body)
	}
}

// With the pool's one connection held, requests that need the database
// are shed with 503 once the queue wait is spent, counted as reason db,
// and served again as soon as the connection is back.
//
// Only the requests sent while the connection is held must be shed. Before
// and after, a request may still be shed on a slow machine (the pool's
// first dial, or the ping of a connection idle for a second, is part of the
// 50 ms budget: CI saw one dial outlast it): those are sent again, counted,
// and must end served.
func TestDatabaseQueueSheds(t *testing.T) {
	e, _ := newEnv(t, envOptions{db: postgres.Options{MaxConns: 1, QueueWait: 50 * time.Millisecond}})
	tok := e.token("ada@example.com", academy.RoleStudent)
	shedAround := 0 // requests shed while the connection was not held
	served := func(what string) {
		t.Helper()
		for range 200 {
			r := e.do("GET", "/v1/me/grades", tok, nil)
			if r.status == http.StatusOK {
				return
			}
			if r.status != http.StatusServiceUnavailable || r.errorCode(t) != "overloaded" {
				t.Fatalf("%s: %d %s, want 200 (or 503 overloaded, sent again)", what, r.status, r.body)
			}
			shedAround++
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("%s: shed 200 times in a row with the connection free", what)
	}
	served("grades")

	held, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	t.Cleanup(free) // before the store closes, which waits for the connection
	go func() {     // ends when free is called
		for {
			err := e.db.Exclusive(context.Background(), func(context.Context) error { close(held); <-release; return nil })
			if !errors.Is(err, academy.ErrOverloaded) { // shed before fn ran (a slow ping): try again
				done <- err
				return
			}
		}
	}()
	select {
	case <-held:
	case err := <-done:
		t.Fatalf("holding the connection: %v", err)
	}
	dbShed := func() float64 { return testutil.Sum(t, e.reg, "academy_db_pool_shed_acquires_total", nil) }
	before := dbShed()
	const n = 4
	for i, r := range concurrently(n, func(int) response { return e.do("GET", "/v1/me/grades", tok, nil) }) {
		checkShed(t, fmt.Sprintf("request %d with the pool held", i), r)
	}
	if got := dbShed() - before; got != n {
		t.Errorf("academy_db_pool_shed_acquires_total rose by %v with the pool held, want %d", got, n)
	}

	free()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		served(fmt.Sprintf("request %d with the connection back", i))
	}
	if got := testutil.Sum(t, e.reg, "academy_db_pool_acquired_connections", nil); got != 0 {
		t.Errorf("%v connections still acquired", got)
	}
	for reason, want := range map[string]int{"db": n + shedAround, "inflight": 0, "hash": 0} {
		if got := testutil.Sum(t, e.reg, "academy_shed_requests_total", map[string]string{"reason": reason}); got != float64(want) {
			t.Errorf("academy_shed_requests_total{reason=%q} = %v, want %v", reason, got, want)
		}
	}
	if got := testutil.Sum(t, e.reg, "academy_shed_requests_total", nil); got != float64(n+shedAround) {
		t.Errorf("academy_shed_requests_total = %v in all, want %d", got, n+shedAround)
	}
}

// With one hashing slot, a small wait and a slow hash, concurrent
// registrations and logins are served or shed (503 overloaded, reason
// hash), never failed; a shed registration creates no account.
func TestHashQueueSheds(t *testing.T) {
	e, _ := newEnv(t, envOptions{svc: academy.Options{BcryptCost: 10, HashConcurrency: 1, HashWait: 5 * time.Millisecond}})
	const n = 6
	email := func(i int) string { return fmt.Sprintf("user-%d@example.com", i) }
	regs := concurrently(n, func(i int) response {
		return e.do("POST", "/v1/users", "", map[string]string{"email": email(i), "password": "password-123", "name": "User"})
	})
	var created []int
	shed := 0
	for i, r := range regs {
		switch r.status {
		case http.StatusCreated:
			created = append(created, i)
		case http.StatusServiceUnavailable:
			shed++
			checkShed(t, fmt.Sprintf("registration %d", i), r)
			if r := e.do("POST", "/v1/sessions", "", map[string]string{"email": email(i), "password": "password-123"}); r.status != http.StatusUnauthorized {
				t.Errorf("login of shed registration %d: %d %s, want 401 (no account)", i, r.status, r.body)
			}
		default:
			t.Errorf("registration %d: %d %s, want 201 or 503", i, r.status, r.body)
		}
	}
	if len(created) == 0 || shed == 0 {
		t.Fatalf("%d registrations created, %d shed: want some of each", len(created), shed)
	}

	logins := concurrently(n, func(int) response {
		return e.do("POST", "/v1/sessions", "", map[string]string{"email": email(created[0]), "password": "password-123"})
	})
	ok, shedLogins := 0, 0
	for i, r := range logins {
		switch r.status {
		case http.StatusOK:
			ok++
		case http.StatusServiceUnavailable:
			shedLogins++
			checkShed(t, fmt.Sprintf("login %d", i), r)
		default:
			t.Errorf("login %d: %d %s, want 200 or 503", i, r.status, r.body)
		}
	}
	if ok == 0 || shedLogins == 0 {
		t.Fatalf("%d logins served, %d shed: want some of each", ok, shedLogins)
	}
	if got, want := testutil.Sum(t, e.reg, "academy_shed_requests_total", map[string]string{"reason": "hash"}), float64(shed+shedLogins); got != want {
		t.Errorf("academy_shed_requests_total{reason=\"hash\"} = %v, want %v", got, want)
	}
	if got := testutil.Sum(t, e.reg, "academy_http_requests_total", map[string]string{"code": "500"}); got != 0 {
		t.Errorf("%v requests answered 500", got)
	}
}
