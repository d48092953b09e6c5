package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/trendtactics/loadlab/reference-app/academy"
	"github.com/trendtactics/loadlab/reference-app/cache"
	"github.com/trendtactics/loadlab/reference-app/httpapi"
	"github.com/trendtactics/loadlab/reference-app/live"
	"github.com/trendtactics/loadlab/reference-app/postgres"
	"github.com/trendtactics/loadlab/reference-app/postgres/pgtemp"
	"github.com/trendtactics/loadlab/reference-app/video"
	"github.com/trendtactics/loadlab/reference-app/web"
)

type serveConfig struct {
	addr              string
	databaseURLs      []string
	replicaURLs       []string
	shardBy           string
	noReadYourWrites  bool
	shards            int
	redisURL          string
	redisCluster      []string
	cache             string
	cacheMaxBytes     int64
	adminToken        string
	jwtSecret         string
	bcryptCost        int
	seed              academy.SeedSpec
	noSeed            bool
	allowUnsafeFaults bool
	maxInFlight       int
	rateLimit         string
	dbMaxConns        int
	dbQueueWait       time.Duration
	hashConcurrency   int
	hashWait          time.Duration
	shutdownTimeout   time.Duration
	tlsCert, tlsKey   string
	requireMFA        []string
}

func newServe(e *env) *cobra.Command {
	var c serveConfig
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the academy's HTTP API (on a throwaway PostgreSQL when no database URL is given)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c.databaseURLs = databaseURLs(c.databaseURLs, e.getenv)
			if len(c.replicaURLs) == 0 && e.getenv("ACADEMY_REPLICA_URL") != "" {
				c.replicaURLs = strings.Split(e.getenv("ACADEMY_REPLICA_URL"), ",")
			}
			if c.redisURL == "" {
				c.redisURL = e.getenv("ACADEMY_REDIS_URL")
			}
			if c.adminToken == "" {
				c.adminToken = e.getenv("ACADEMY_ADMIN_TOKEN")
			}
			if c.jwtSecret == "" {
				c.jwtSecret = e.getenv("ACADEMY_JWT_SECRET")
			}
			return serve(cmd.Context(), e, c)
		},
	}
	f := cmd.Flags()
	f.StringVar(&c.addr, "addr", "127.0.0.1:8080", "listen address (127.0.0.1:0 picks a free port; the real one is printed)")
	f.StringSliceVar(&c.databaseURLs, "database-url", nil, "PostgreSQL URL of each shard, shard 0 first (repeat or comma-separate; env ACADEMY_DATABASE_URL); none: a throwaway cluster")
	f.StringSliceVar(&c.replicaURLs, "replica-url", nil, "PostgreSQL URL of a read replica (hot standby) of each shard, in shard order, one group per replica (repeat or comma-separate; env ACADEMY_REPLICA_URL): catalog and per-user reads go to replicas, a client's own writes stay visible to it (read-your-writes)")
	f.BoolVar(&c.noReadYourWrites, "unsafe-no-read-your-writes", false, "with --replica-url: read from any replica, even one that has not replayed the client's own writes (for experiments: the replica-lag drill's negative control)")
	f.StringVar(&c.shardBy, "shard-by", postgres.ShardByUser, "how users' rows are spread over the shards: user (hash(user_id) % N) or region (hash(region + user_id) % N, with a directory on shard 0); every replica must use the same")
	f.IntVar(&c.shards, "shards", 1, "with the throwaway cluster: number of shard databases")
	f.StringVar(&c.redisURL, "redis-url", "", "Redis URL, e.g. redis://127.0.0.1:6379/0 (env ACADEMY_REDIS_URL); none: in-process cache")
	f.StringSliceVar(&c.redisCluster, "redis-cluster", nil, "address host:port of a Redis Cluster node (repeat or comma-separate; one is enough, the others are discovered): the cache is served by the cluster (go-redis's cluster client)")
	f.StringVar(&c.cache, "cache", "", "cache: redis (needs --redis-url), memory (in process) or none (every read goes to PostgreSQL); default redis with --redis-url, else memory")
	f.Int64Var(&c.cacheMaxBytes, "cache-max-bytes", cache.DefaultMemoryMaxBytes, "bound of the in-process cache in bytes (keys, values and a fixed overhead per entry); past it the least recently used entries are evicted")
	f.StringVar(&c.adminToken, "admin-token", "", "bearer token with admin rights (env ACADEMY_ADMIN_TOKEN)")
	f.StringVar(&c.jwtSecret, "jwt-secret", "", "secret signing access tokens and live tickets; replicas must share it (env ACADEMY_JWT_SECRET; default random)")
	f.IntVar(&c.bcryptCost, "bcrypt-cost", 10, "bcrypt cost of passwords set at registration")
	f.IntVar(&c.seed.Users, "seed-users", 1000, "students to seed when the database is empty")
	f.IntVar(&c.seed.Courses, "seed-courses", 50, "courses to seed when the database is empty")
	f.Int64Var(&c.seed.Seed, "seed", 42, "seed of the deterministic data set")
	f.BoolVar(&c.noSeed, "no-seed", false, "do not seed an empty database")
	f.BoolVar(&c.allowUnsafeFaults, "allow-unsafe-faults", false, "allow the test-only drop-write fault (acknowledges enrollments without storing them)")
	f.IntVar(&c.maxInFlight, "max-inflight", 512, "bound on concurrent requests; beyond it 503 + Retry-After (-1: no bound)")
	f.StringVar(&c.rateLimit, "rate-limit", "default", `rate limits: "default" (ip=20000,user=200 requests/s), "off", or "ip=N,user=M" (0 disables a scope)`)
	f.IntVar(&c.dbMaxConns, "db-max-conns", 20, "connections per shard pool")
	f.DurationVar(&c.dbQueueWait, "db-queue-wait", postgres.DefaultQueueWait, "how long a request may wait for a database connection; beyond it 503 + Retry-After (0: the default; negative, e.g. -1s: no bound)")
	f.IntVar(&c.hashConcurrency, "hash-concurrency", 0, "password hashes (registration, login) running at once (0: GOMAXPROCS; -1: no bound)")
	f.DurationVar(&c.hashWait, "hash-wait", academy.DefaultHashWait, "how long a registration or login may wait for a hashing slot; beyond it 503 + Retry-After (0: the default; negative, e.g. -1s: no bound)")
	f.StringVar(&c.tlsCert, "tls-cert", "", "PEM certificate (chain) file: serve HTTPS, TLS 1.3 only, HTTP/2 and HTTP/1.1, with HSTS (needs --tls-key)")
	f.StringVar(&c.tlsKey, "tls-key", "", "PEM private key file of --tls-cert")
	f.StringSliceVar(&c.requireMFA, "require-mfa", []string{"instructor", "admin"}, `roles that must use TOTP MFA: until enrolled, their logins may only enroll ("" for none)`)
	f.DurationVar(&c.shutdownTimeout, "shutdown-timeout", 15*time.Second, "how long a graceful shutdown may drain requests")
	return cmd
}

func parseRateLimit(s string) (httpapi.RateLimits, bool, error) {
	switch s {
	case "", "default":
		return httpapi.DefaultRateLimits(), false, nil
	case "off", "none", "0":
		return httpapi.RateLimits{}, true, nil
	}
	l := httpapi.DefaultRateLimits()
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil || n < 0 {
			return l, false, fmt.Errorf("--rate-limit %q: want default, off or ip=N,user=M", s)
		}
		switch k {
		case "ip":
			l.PerIP, l.IPBurst = n, int(2*n)
		case "user":
			l.PerUser, l.UserBurst = n, int(2*n)
		default:
			return l, false, fmt.Errorf("--rate-limit %q: unknown scope %q (ip, user)", s, k)
		}
	}
	if l.PerIP == 0 && l.PerUser == 0 {
		return l, true, nil
	}
	if l.PerIP == 0 {
		l.PerIP = -1 // disabled scope; NewServer treats <= 0 as off
	}
	if l.PerUser == 0 {
		l.PerUser = -1
	}
	return l, false, nil
}

// loadTLS returns the TLS configuration of --tls-cert and --tls-key: TLS 1.3
// at least, HTTP/2 offered first. Neither flag: nil (plain HTTP).
func loadTLS(certFile, keyFile string) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		return nil, nil
	}
	if certFile == "" || keyFile == "" {
		return nil, usageError{errors.New("--tls-cert and --tls-key go together")}
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, usageError{fmt.Errorf("load --tls-cert %s and --tls-key %s: %w", certFile, keyFile, err)}
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13, NextProtos: []string{"h2", "http/1.1"}}, nil
}

func serve(ctx context.Context, e *env, c serveConfig) error {
	log := e.logger()
	limits, noLimits, err := parseRateLimit(c.rateLimit)
	if err != nil {
		return usageError{err}
	}
	if c.shards < 1 || c.shards > 64 {
		return usageError{errors.New("--shards must be between 1 and 64")}
	}
	if c.cacheMaxBytes <= 0 {
		return usageError{fmt.Errorf("--cache-max-bytes %d: must be positive", c.cacheMaxBytes)}
	}
	if err := c.seed.Validate(); err != nil {
		return usageError{err}
	}
	tlsConfig, err := loadTLS(c.tlsCert, c.tlsKey)
	if err != nil {
		return err
	}
	var mfaRoles []academy.Role
	for _, r := range c.requireMFA {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		if !academy.Role(r).Valid() {
			return usageError{fmt.Errorf("--require-mfa %q: unknown role (student, instructor, admin)", r)}
		}
		mfaRoles = append(mfaRoles, academy.Role(r))
	}
	switch {
	case c.cache != "" && c.cache != "redis" && c.cache != "memory" && c.cache != "none":
		return usageError{fmt.Errorf("--cache %q: want redis, memory or none", c.cache)}
	case c.cache == "redis" && c.redisURL == "" && len(c.redisCluster) == 0:
		return usageError{errors.New("--cache redis needs --redis-url")}
	case c.cache != "" && c.cache != "redis" && c.redisURL != "":
		return usageError{fmt.Errorf("--cache %s and --redis-url contradict each other", c.cache)}
	case len(c.redisCluster) > 0 && (c.redisURL != "" || c.cache == "memory" || c.cache == "none"):
		return usageError{errors.New("--redis-cluster serves the cache: drop --redis-url and --cache memory/none")}
	}
	secret := []byte(c.jwtSecret)
	if len(secret) == 0 {
		secret = []byte(rand.Text())
		log.Warn("no --jwt-secret: using a random one; tokens are valid on this process only")
	} else if len(secret) < 16 {
		return usageError{errors.New("--jwt-secret must be at least 16 bytes")}
	}

	// Storage: the configured shards, or a throwaway cluster.
	urls := c.databaseURLs
	if len(urls) == 0 {
		var dbs []string
		for i := range c.shards {
			dbs = append(dbs, fmt.Sprintf("academy_%d", i))
		}
		cluster, err := pgtemp.Start(ctx, pgtemp.Options{Databases: dbs})
		if err != nil {
			return fmt.Errorf("start throwaway postgres (or pass --database-url): %w", err)
		}
		defer func() {
			if err := cluster.Stop(); err != nil {
				log.Error("stop throwaway postgres", "err", err)
			}
			log.Info("throwaway postgres removed", "dir", cluster.Dir())
		}()
		log.Info("throwaway postgres started", "dir", cluster.Dir(), "port", cluster.Port(), "shards", len(dbs))
		for _, d := range dbs {
			urls = append(urls, cluster.URL(d))
		}
	}
	replicas, err := replicasByShard(c.replicaURLs, len(urls))
	if err != nil {
		return usageError{err}
	}
	db, err := postgres.Open(ctx, urls, postgres.Options{MaxConns: int32(c.dbMaxConns), QueueWait: c.dbQueueWait, ReplicaURLs: replicas, ShardBy: c.shardBy, IgnoreReadAfter: c.noReadYourWrites})
	if err != nil {
		return err
	}
	defer db.Close()
	if n, err := db.Migrate(ctx); err != nil {
		return err
	} else if n > 0 {
		log.Info("migrated", "migrations", n, "shards", db.Shards())
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), db.Collector())

	var cch academy.Cache
	var health httpapi.CacheHealth
	switch {
	case c.cache == "none":
		// No cache at all: academy.NewService reads through to PostgreSQL, /readyz says none.
	case c.cache == "redis" || (c.cache == "" && c.redisURL != "") || len(c.redisCluster) > 0:
		var r *cache.Redis
		if len(c.redisCluster) > 0 {
			r, err = cache.NewRedisCluster(c.redisCluster, cache.RedisOptions{}, reg)
		} else {
			r, err = cache.NewRedis(c.redisURL, cache.RedisOptions{}, reg)
		}
		if err != nil {
			return usageError{err}
		}
		defer r.Close()
		if err := r.Check(ctx); err != nil {
			log.Warn("redis not answering; serving from PostgreSQL until it does", "err", err)
		}
		cch, health = r, r
	default:
		m := cache.NewMemory(cache.MemoryOptions{MaxBytes: c.cacheMaxBytes}, reg)
		cch, health = m, m
	}
	opts := academy.Options{Secret: secret, BcryptCost: c.bcryptCost, HashConcurrency: c.hashConcurrency, HashWait: c.hashWait, MFARequiredFor: mfaRoles}
	if len(replicas) > 0 {
		// A cache miss right after a write may be filled from a replica a poll behind:
		// invalidate again once the replicas' positions were read anew.
		opts.Reinvalidate = time.Second
	}
	svc, err := academy.NewService(db, cch, opts)
	if err != nil {
		return usageError{err}
	}
	if !c.noSeed {
		start := time.Now()
		seeded, err := svc.SeedIfEmpty(ctx, c.seed)
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		if seeded {
			log.Info("seeded empty database", "users", c.seed.Users, "courses", c.seed.Courses, "seed", c.seed.Seed, "took", time.Since(start).Round(time.Millisecond))
		}
	}

	hub := live.NewHub(live.Options{Secret: derive(secret, "live-tickets")}, reg)
	handler := httpapi.NewServer(httpapi.Deps{
		Service:  svc,
		Cache:    health,
		Live:     hub,
		Video:    video.New(video.Options{}),
		Web:      web.Handler(),
		Registry: reg,
		Logger:   log,
		Options: httpapi.Options{
			AdminToken:        c.adminToken,
			AllowUnsafeFaults: c.allowUnsafeFaults,
			MaxInFlight:       c.maxInFlight,
			RateLimits:        limits,
			DisableRateLimit:  noLimits,
			LiveIsFull:        func(err error) bool { return errors.Is(err, live.ErrFull) },
			LiveTooMany:       func(err error) bool { return errors.Is(err, live.ErrTooManyConnections) },
		},
	})

	l, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
		srv.TLSConfig = tlsConfig
		srv.Protocols = new(http.Protocols)
		srv.Protocols.SetHTTP1(true)
		srv.Protocols.SetHTTP2(true)
		l = tls.NewListener(l, tlsConfig)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }() // ends at Shutdown below
	fmt.Fprintf(e.stdout, "listening on %s://%s\n", scheme, l.Addr())
	cacheStatus := "none"
	if health != nil {
		cacheStatus = health.Status()
	}
	log.Info("serving", "addr", l.Addr().String(), "shards", db.Shards(), "replicas", len(c.replicaURLs)/max(1, db.Shards()), "cache", cacheStatus, "unsafe_faults", c.allowUnsafeFaults)

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining requests and WebSockets")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.shutdownTimeout)
	defer cancel()
	// A second Ctrl-C ends the drain now; the goroutine ends with it either way.
	go func() {
		select {
		case <-hurried(ctx):
			cancel()
		case <-sctx.Done():
		}
	}()
	var errs []error
	if err := hub.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("close websockets: %w", err))
	}
	if err := srv.Shutdown(sctx); err != nil {
		errs = append(errs, fmt.Errorf("drain http: %w", err))
	}
	<-served
	log.Info("stopped")
	return errors.Join(errs...)
}

// derive returns a sub-key of secret for purpose.
func derive(secret []byte, purpose string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// replicasByShard groups the replica URLs by shard: they come one group per replica, each
// group the shards in order.
func replicasByShard(urls []string, shards int) ([][]string, error) {
	if len(urls) == 0 {
		return nil, nil
	}
	if len(urls)%shards != 0 {
		return nil, fmt.Errorf("--replica-url: %d URLs for %d shards: give each replica's URL of every shard, in shard order", len(urls), shards)
	}
	out := make([][]string, shards)
	for i, u := range urls {
		out[i%shards] = append(out[i%shards], u)
	}
	return out, nil
}
