package lab

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/chaos/lab/guard"
	"github.com/trendtactics/loadlab/chaos/proxy"
	"github.com/trendtactics/loadlab/internal/certs"
	"github.com/trendtactics/loadlab/scenarios"
)

// Config describes the lab to start.
type Config struct {
	Replicas int    // academy replicas, at least 1
	Cache    string // redis | redis-cluster | memory | none
	Seed     scenarios.LabSeed
	// Academy is the command that runs the academy CLI (cmd/academy), e.g. {"/path/bin/academy"};
	// the lab adds `postgres ...` to start the database and `serve ...` for each replica.
	Academy []string
	// Log receives the children's output, one prefixed line each (io.Discard if nil).
	Log io.Writer
	// Status receives one line per start-up step (nil: none).
	Status io.Writer
	// Registry, if set, gets the proxies' metrics.
	Registry prometheus.Registerer
	// AllowUnsafeFaults starts the academy with its test-only faults enabled (drop-write).
	AllowUnsafeFaults bool
	// BcryptCost hashes the passwords of registrations (0: 4, the cheapest).
	BcryptCost int
	// DBMaxConns is each replica's pool size per shard (0: the academy's default).
	DBMaxConns int
	// AcademyArgs are extra flags of `academy serve` for every replica.
	AcademyArgs []string
	// DBReplicas is the number of streaming-replication read replicas (hot standbys) of the
	// database, which holds every shard (0: none). The academy replicas read from them.
	DBReplicas int
	// TLS serves the replicas over HTTPS (TLS 1.3) with a certificate of a throwaway CA the
	// lab makes (tls.go); the edge proxy passes TLS through as TCP, so URL is https and
	// CACert is what its clients trust.
	TLS bool
}

// Lab is a running local lab. Its methods are safe for concurrent use.
type Lab struct {
	cfg        Config
	adminToken string
	jwtSecret  string // shared by the replicas, so a token from one is good on all
	client     *http.Client
	guard      *guard.Client // ends what is left if the harness dies; closed last by Stop

	db       *process
	dbDir    string
	dbURL    string // through the database proxy
	redis    *process
	redisURL string // through the cache proxy

	edge, dbProxy, cacheProxy *proxy.Proxy

	// replicaURLs are the database replicas' URLs (direct: the faults of the database's
	// replicas are database.replica-lag, not network faults).
	replicaURLs []string

	// The Redis Cluster's nodes (cache: redis-cluster), their addresses and their directory.
	redisNodes        []*process
	redisClusterAddrs []string
	redisDir          string

	// tlsDir holds the throwaway CA and certificate of Config.TLS ("" without; tls.go).
	tlsDir string
	certs  certs.Files

	mu       sync.Mutex
	replicas []*replica
	stopped  chan struct{}      // made by the first Stop, closed when it is done
	hurry    context.CancelFunc // ends the first Stop's context: kill what is left now
	stopErr  error              // written before stopped is closed
}

type replica struct {
	*process
	addr string // host:port it listens on (kept across restarts)
}

// Start starts the lab and returns once every part is ready and the data is seeded.
// On error everything started so far is stopped again.
func Start(ctx context.Context, cfg Config) (l *Lab, err error) {
	if cfg.Replicas < 1 {
		cfg.Replicas = 1
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	if len(cfg.Academy) == 0 {
		return nil, errors.New("lab: no academy command")
	}
	l = &Lab{cfg: cfg, adminToken: randomToken(), jwtSecret: randomToken(), client: &http.Client{Timeout: 30 * time.Second}}
	started := l // l is nil once a `return nil, err` below has set it
	defer func() {
		if err != nil {
			started.Stop(context.WithoutCancel(ctx))
		}
	}()
	// The guardian first: from now on, however the harness ends, nothing of the lab outlives it.
	if l.guard, err = guard.Start(ctx, append(clone(cfg.Academy), "guard"), prefixWriter(cfg.Log, "guard")); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	if cfg.TLS {
		if err := l.startTLS(); err != nil {
			return nil, err
		}
	}
	if err := l.startDatabase(ctx); err != nil {
		return nil, err
	}
	if cfg.Cache == "redis" {
		if err := l.startRedis(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.Cache == "redis-cluster" {
		if err := l.startRedisCluster(ctx); err != nil {
			return nil, err
		}
	}
	if err := l.startReplicas(ctx); err != nil {
		return nil, err
	}
	addrs := l.replicaAddrs()
	l.edge, err = l.newProxy("edge", addrs)
	if err != nil {
		return nil, err
	}
	l.status("edge proxy on %s → %d replicas", l.edge.Addr(), len(addrs))
	if err := l.seed(ctx); err != nil {
		return nil, err
	}
	return l, nil
}

// URL is the base URL of the lab's edge: what the load is sent to.
func (l *Lab) URL() string { return l.scheme() + "://" + l.edge.Addr() }

// AdminToken is the token of the academy's admin API in this lab.
func (l *Lab) AdminToken() string { return l.adminToken }

// DatabaseURL is the database URL the replicas use (through the database proxy).
func (l *Lab) DatabaseURL() string { return l.dbURL }

// ReplicaURLs are the URLs of the database's read replicas (none unless DBReplicas > 0).
func (l *Lab) ReplicaURLs() []string { return clone(l.replicaURLs) }

// CacheURL is the Redis URL the replicas use (through the cache proxy); empty unless the
// lab's cache is redis.
func (l *Lab) CacheURL() string { return l.redisURL }

func (l *Lab) status(format string, args ...any) {
	if l.cfg.Status != nil {
		fmt.Fprintf(l.cfg.Status, "lab: "+format+"\n", args...)
	}
}

func (l *Lab) newProxy(name string, upstreams []string) (*proxy.Proxy, error) {
	var opts []proxy.Option
	if l.cfg.Registry != nil {
		opts = append(opts, proxy.WithRegisterer(l.cfg.Registry))
	}
	p, err := proxy.New(name, "127.0.0.1:0", upstreams, opts...)
	if err != nil {
		return nil, fmt.Errorf("lab: %s proxy: %w", name, err)
	}
	// The proxy lives until Stop closes it, not as long as the start-up context.
	if err := p.Start(context.Background()); err != nil {
		return nil, fmt.Errorf("lab: %w", err)
	}
	return p, nil
}

func (l *Lab) startDatabase(ctx context.Context) error {
	// A directory and port of its own, so that a killed database restarts with its data at
	// the same address; durable, so that the kill loses no acknowledged commit. The port is
	// the wrapper's choice (port 0: it picks a free one right before PostgreSQL binds it,
	// and another if that was taken meanwhile); a restart asks for the port it printed.
	// The academy sweeps what dead labs left (loadlab-db-*: their servers, even stopped ones,
	// their shared memory); this harness, as an owner, keeps this directory out of any sweep
	// while its database is down between a kill and the restart.
	l.dbDir = filepath.Join(os.TempDir(), dbDirPrefix+randomToken()[:12])
	l.guard.Dir(l.dbDir)
	l.db = &process{name: "postgres", log: l.cfg.Log, guard: l.guard,
		argv: append(clone(l.cfg.Academy), "postgres", "--dir", l.dbDir, "--port", "0", "--durable",
			"--sweep", filepath.Join(os.TempDir(), dbDirPrefix+"*"), "--owner", strconv.Itoa(os.Getpid()),
			"--replicas", strconv.Itoa(l.cfg.DBReplicas)),
		ready: func(line string) bool { return strings.HasPrefix(line, "DATABASE_URL=") }}
	var raw string
	ready := l.db.ready
	first := true // a restart prints the same replica URLs again
	l.db.ready = func(line string) bool {
		if u, ok := strings.CutPrefix(line, "REPLICA_URL="); ok && first {
			l.replicaURLs = append(l.replicaURLs, u)
		}
		if ready(line) {
			first = false
			raw = strings.TrimPrefix(line, "DATABASE_URL=")
			return true
		}
		return false
	}
	if err := l.db.start(ctx, nil); err != nil {
		return fmt.Errorf("lab: database: %w", err)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Port() == "" {
		return fmt.Errorf("lab: database printed a bad URL %q (%v)", raw, err)
	}
	l.db.argv[slices.Index(l.db.argv, "--port")+1] = u.Port()
	l.dbProxy, err = l.newProxy("database", []string{u.Host})
	if err != nil {
		return err
	}
	u.Host = l.dbProxy.Addr()
	l.dbURL = u.String()
	l.status("postgres ready, database proxy on %s; %d read replicas", l.dbProxy.Addr(), len(l.replicaURLs))
	return nil
}

// The lab's Redis holds at most RedisMaxMemory and then evicts the least recently used keys,
// whatever their TTL: the load cannot grow it without bound, and an evicted entry is only a
// miss (the academy reads PostgreSQL and stores it again).
const (
	RedisMaxMemory       = "256mb"
	RedisMaxMemoryPolicy = "allkeys-lru"
)

func (l *Lab) startRedis(ctx context.Context) error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return errors.New("lab: the scenario asks for cache: redis, but redis-server is not installed; install it with `apt-get install redis-server` or use cache: memory")
	}
	var port int
	l.redis, port, err = l.startOnFreePort(ctx, func(port int) *process {
		return &process{name: "redis", log: l.cfg.Log, guard: l.guard,
			argv: []string{bin, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes",
				"--maxmemory", RedisMaxMemory, "--maxmemory-policy", RedisMaxMemoryPolicy},
			ready: func(line string) bool { return strings.Contains(line, "Ready to accept connections") }}
	})
	if err != nil {
		return fmt.Errorf("lab: redis: %w", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	l.cacheProxy, err = l.newProxy("cache", []string{addr})
	if err != nil {
		return err
	}
	l.redisURL = "redis://" + l.cacheProxy.Addr() + "/0"
	l.status("redis ready, cache proxy on %s", l.cacheProxy.Addr())
	return nil
}

// startReplicas starts the first replica alone (it applies the migrations), then the others.
func (l *Lab) startReplicas(ctx context.Context) error {
	for i := range l.cfg.Replicas {
		r := &replica{}
		r.process = l.replicaProcess(i, &r.addr)
		if err := r.start(ctx, nil); err != nil {
			return fmt.Errorf("lab: academy replica %d: %w", i+1, err)
		}
		// Keep the port for restarts after a kill, so the edge proxy's list stays right.
		r.argv[len(l.cfg.Academy)+2] = r.addr
		l.mu.Lock()
		l.replicas = append(l.replicas, r)
		l.mu.Unlock()
	}
	l.status("%d academy replicas ready (%s)", l.cfg.Replicas, strings.Join(l.replicaAddrs(), ", "))
	return nil
}

// replicaProcess describes replica i; its address is argv[len(Academy)+2].
func (l *Lab) replicaProcess(i int, got *string) *process {
	cost := l.cfg.BcryptCost
	if cost <= 0 {
		cost = 4
	}
	argv := append(clone(l.cfg.Academy), "serve", "--addr", "127.0.0.1:0", "--database-url", l.dbURL,
		"--admin-token", l.adminToken, "--jwt-secret", l.jwtSecret, "--bcrypt-cost", strconv.Itoa(cost), "--no-seed")
	if l.cfg.DBMaxConns > 0 {
		argv = append(argv, "--db-max-conns", strconv.Itoa(l.cfg.DBMaxConns))
	}
	for _, u := range l.replicaURLs {
		argv = append(argv, "--replica-url", u)
	}
	argv = append(argv, l.cfg.AcademyArgs...)
	switch {
	case len(l.redisClusterAddrs) > 0:
		argv = append(argv, "--redis-cluster", strings.Join(l.redisClusterAddrs, ","))
	case l.redisURL != "":
		argv = append(argv, "--redis-url", l.redisURL)
	case l.cfg.Cache == "none":
		argv = append(argv, "--cache", "none")
	}
	if l.cfg.AllowUnsafeFaults {
		argv = append(argv, "--allow-unsafe-faults")
	}
	if l.cfg.TLS {
		argv = append(argv, "--tls-cert", l.certs.Cert, "--tls-key", l.certs.Key)
	}
	prefix := "listening on " + l.scheme() + "://"
	return &process{name: fmt.Sprintf("academy-%d", i+1), argv: argv, log: l.cfg.Log, guard: l.guard,
		ready: func(line string) bool {
			if i := strings.Index(line, prefix); i >= 0 {
				*got = strings.TrimSpace(line[i+len(prefix):])
				return true
			}
			return false
		}}
}

func (l *Lab) replicaAddrs() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := make([]string, len(l.replicas))
	for i, r := range l.replicas {
		a[i] = r.addr
	}
	return a
}

// seed asks the first replica to seed the deterministic data set.
func (l *Lab) seed(ctx context.Context) error {
	s := l.cfg.Seed
	if s.Users == 0 && s.Courses == 0 {
		return nil
	}
	body, _ := json.Marshal(map[string]any{"users": s.Users, "courses": s.Courses, "seed": s.Seed})
	start := time.Now()
	if err := l.admin(ctx, l.replicaAddrs()[0], http.MethodPost, "/admin/seed", body, nil); err != nil {
		return fmt.Errorf("lab: seed: %w", err)
	}
	l.status("seeded %d users, %d courses (seed %d) in %s", s.Users, s.Courses, s.Seed, time.Since(start).Round(time.Millisecond))
	return nil
}

// admin calls the academy's admin API on one replica; out, if not nil, receives the JSON answer.
func (l *Lab) admin(ctx context.Context, addr, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, l.scheme()+"://"+addr+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+l.adminToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(b)))
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// Stop stops everything the lab started, in reverse order: each child gets SIGTERM and some
// seconds to exit before SIGKILL. When ctx is done, Stop waits no longer: whatever is still
// running is killed at once (SIGKILL), and the error names it. Stop is idempotent; a call
// while another is under way waits for it, and its ctx ending hurries that one too.
func (l *Lab) Stop(ctx context.Context) error {
	l.mu.Lock()
	first := l.stopped == nil
	if first {
		l.stopped = make(chan struct{})
		ctx, l.hurry = context.WithCancel(ctx)
	}
	stopped, hurry := l.stopped, l.hurry
	l.mu.Unlock()
	if !first {
		select {
		case <-stopped:
		case <-ctx.Done():
			hurry()
			<-stopped
		}
		return l.stopErr
	}
	defer close(stopped)
	defer hurry()
	l.stopErr = l.stop(ctx)
	return l.stopErr
}

// stop does the work of Stop, once.
func (l *Lab) stop(ctx context.Context) error {
	if l.edge != nil {
		l.edge.Close()
	}
	l.mu.Lock()
	reps := l.replicas
	l.mu.Unlock()
	errs := make([]error, len(reps))
	var wg sync.WaitGroup
	for i, r := range reps {
		wg.Go(func() { errs[i] = r.stop(ctx, 10*time.Second) })
	}
	wg.Wait()
	for _, p := range []*proxy.Proxy{l.cacheProxy, l.dbProxy} {
		if p != nil {
			p.Close()
		}
	}
	for _, p := range append(l.redisNodes, l.redis, l.db) {
		if p != nil {
			errs = append(errs, p.stop(ctx, 15*time.Second))
		}
	}
	if l.redisDir != "" {
		errs = append(errs, os.RemoveAll(l.redisDir))
	}
	if l.tlsDir != "" {
		errs = append(errs, os.RemoveAll(l.tlsDir))
	}
	// Last, the guardian: it ends any group that is still watched (none, unless a stop was
	// cut short), removes the database's directory (the database removes it when it stops;
	// this is for one that could not, or that was killed and not restarted) with whatever
	// its server left, shared memory included, and exits.
	if err := l.guard.Close(); err != nil {
		errs = append(errs, fmt.Errorf("guardian: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("lab: stop cut short: %w", err)
	}
	return nil
}

// dbDirPrefix prefixes the database directory of every lab in os.TempDir().
const dbDirPrefix = "loadlab-db-"

func clone(s []string) []string { return append([]string(nil), s...) }

func randomToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// portAttempts bounds the starts of a child on a port chosen free (startOnFreePort).
const portAttempts = 5

// startOnFreePort starts the child that mk describes for a port chosen free, and returns it
// and the port. The child binds the port after it was chosen: another process may take it
// in between (a connection's ephemeral port, another test's server), and the child then
// exits before it is ready; such a start is tried again on another port.
func (l *Lab) startOnFreePort(ctx context.Context, mk func(port int) *process) (*process, int, error) {
	for attempt := 1; ; attempt++ {
		port, err := pickPort()
		if err != nil {
			return nil, 0, err
		}
		p := mk(port)
		err = p.start(ctx, nil)
		if err == nil {
			return p, port, nil
		}
		if attempt == portAttempts || !errors.Is(err, errExitedEarly) || ctx.Err() != nil {
			return nil, 0, err
		}
		fmt.Fprintf(l.cfg.Log, "lab: %s did not start on port %d (%v): another port\n", p.name, port, err)
	}
}

// pickPort chooses a child's port (freePort; a test takes the first one first).
var pickPort = freePort

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// PIDs returns the process ids of the lab's running children by name (for tests and for
// the leftover checks of the harness).
func (l *Lab) PIDs() map[string]int {
	m := map[string]int{}
	add := func(p *process) {
		if p != nil && p.running() {
			m[p.name] = p.pid()
		}
	}
	add(l.db)
	add(l.redis)
	for _, p := range l.redisNodes {
		add(p)
	}
	l.mu.Lock()
	reps := l.replicas
	l.mu.Unlock()
	for _, r := range reps {
		add(r.process)
	}
	return m
}
