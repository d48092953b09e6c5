package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/internal/testutil/pgtest"
	"github.com/trendtactics/loadlab/reference-app/academy"
	"github.com/trendtactics/loadlab/reference-app/cache"
	"github.com/trendtactics/loadlab/reference-app/httpapi"
	"github.com/trendtactics/loadlab/reference-app/live"
	"github.com/trendtactics/loadlab/reference-app/postgres"
	"github.com/trendtactics/loadlab/reference-app/postgres/pgtemp"
	"github.com/trendtactics/loadlab/reference-app/video"
	"github.com/trendtactics/loadlab/reference-app/web"
)

// cluster is the package's one throwaway PostgreSQL (TestMain).
var cluster *pgtest.Cluster

func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(m, pgtemp.Options{MaxConnections: 300}, &cluster))
}

// env is one academy under test.
type env struct {
	t     testing.TB
	srv   *httptest.Server
	svc   *academy.Service
	db    *postgres.DB
	reg   *prometheus.Registry
	http  *http.Client
	admin string // admin token
	urls  []string
}

// dbURL returns the URL of shard 0.
func (e *env) dbURL(u *string) error {
	*u = e.urls[0]
	return nil
}

type envOptions struct {
	shards   int
	urls     []string // the databases of another env (a second replica); default: new ones
	redisURL string
	cacheMax int64 // bound of the in-process cache in bytes (0: the default)
	seed     academy.SeedSpec
	opts     httpapi.Options
	db       postgres.Options // MaxConns 30 and no QueueWait (tests that flood the pool check exact outcomes) unless set
	svc      academy.Options  // Secret is set; BcryptCost 4 and no HashWait unless set
	plain    bool             // no httptest server (caller serves the handler)
	logger   *slog.Logger     // the server's (nil: discard)
}

const adminToken = "test-admin-token"

func newEnv(t testing.TB, o envOptions) (*env, http.Handler) {
	t.Helper()
	ctx := context.Background()
	if o.shards == 0 {
		o.shards = 1
	}
	urls := o.urls
	for len(urls) < o.shards {
		urls = append(urls, cluster.NewDatabase(t))
	}
	if o.db.MaxConns == 0 {
		o.db.MaxConns = 30
	}
	if o.db.QueueWait == 0 {
		o.db.QueueWait = -1
	}
	db, err := postgres.Open(ctx, urls, o.db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	reg := prometheus.NewRegistry()
	reg.MustRegister(db.Collector())
	var c academy.Cache
	var health httpapi.CacheHealth
	if o.redisURL != "" {
		r, err := cache.NewRedis(o.redisURL, cache.RedisOptions{Timeout: 100 * time.Millisecond, Cooldown: 500 * time.Millisecond}, reg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		c, health = r, r
	} else {
		m := cache.NewMemory(cache.MemoryOptions{MaxBytes: o.cacheMax}, reg)
		c, health = m, m
	}
	o.svc.Secret = []byte("0123456789abcdef0123456789abcdef")
	if o.svc.BcryptCost == 0 {
		o.svc.BcryptCost = 4
	}
	if o.svc.HashWait == 0 {
		o.svc.HashWait = -1
	}
	svc, err := academy.NewService(db, c, o.svc)
	if err != nil {
		t.Fatal(err)
	}
	if o.seed != (academy.SeedSpec{}) {
		if _, err := svc.Seed(ctx, academy.Principal{Role: academy.RoleAdmin}, o.seed); err != nil {
			t.Fatal(err)
		}
	}
	o.opts.AdminToken = adminToken
	hub := live.NewHub(live.Options{Secret: []byte("live-secret-0123456789")}, reg)
	t.Cleanup(func() { _ = hub.Shutdown(context.Background()) })
	o.opts.LiveIsFull = func(err error) bool { return errors.Is(err, live.ErrFull) }
	o.opts.LiveTooMany = func(err error) bool { return errors.Is(err, live.ErrTooManyConnections) }
	h := httpapi.NewServer(httpapi.Deps{Service: svc, Cache: health, Registry: reg, Options: o.opts, Logger: o.logger,
		Live: hub, Video: video.New(video.Options{}), Web: web.Handler()})
	e := &env{t: t, svc: svc, db: db, reg: reg, admin: adminToken, urls: urls,
		http: &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 400}}}
	if !o.plain {
		e.srv = httptest.NewServer(h)
		t.Cleanup(e.srv.Close)
	}
	return e, h
}

// token returns an access token for the seeded user with e-mail.
func (e *env) token(email string, role academy.Role) string {
	e.t.Helper()
	tok, err := e.svc.IssueToken(academy.UserIDFromEmail(email), role)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

func student(i int) string    { return fmt.Sprintf("student-%d@academy.test", i) }
func instructor(i int) string { return fmt.Sprintf("instructor-%d@academy.test", i) }

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// errorCode returns the code of r's JSON error body.
func (r response) errorCode(t testing.TB) string {
	t.Helper()
	var body struct{ Error struct{ Code string } }
	r.json(t, &body)
	return body.Error.Code
}

// do sends a request; body may be nil, a string (sent as is) or a value
// encoded as JSON.
func (e *env) do(method, path, token string, body any, headers ...string) response {
	e.t.Helper()
	resp, err := e.try(method, path, token, body, headers...)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

func (e *env) try(method, path, token string, body any, headers ...string) (response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = bytes.NewBufferString(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		return response{}, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return response{status: resp.StatusCode, header: resp.Header, body: b}, err
}

// createCourse creates a course with capacity as an admin and returns its id.
func (e *env) createCourse(slug string, capacity int) string {
	e.t.Helper()
	r := e.do("POST", "/v1/courses", e.admin, map[string]any{"slug": slug, "title": "Course " + slug, "category": "test", "capacity": capacity})
	if r.status != http.StatusCreated {
		e.t.Fatalf("create course: %d %s", r.status, r.body)
	}
	var c academy.Course
	r.json(e.t, &c)
	return c.ID.String()
}
