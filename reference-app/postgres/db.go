package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

// Options configure Open.
type Options struct {
	// MaxConns per shard (default 20).
	MaxConns int32
	// QueueWait bounds how long an operation may wait for a connection of
	// a shard's pool (default 250ms; negative: no bound, as long as the
	// context allows). Past it the operation fails with an
	// *academy.OverloadError (503 with Retry-After). Migrate and Ping are
	// not bounded.
	QueueWait time.Duration
	// ReplicaURLs[i] are the read replicas (hot standbys) of shard i, none by default.
	// Catalog and per-user reads go to a replica that has replayed what the request must
	// see (read-your-writes, academy.ReadAfter), else to the primary; see replicas.go.
	ReplicaURLs [][]string
	// ReplicaPoll is how often the replicas' replay positions are read (default 100ms).
	ReplicaPoll time.Duration
	// ShardBy is how the rows owned by a user are spread: ShardByUser (default) or
	// ShardByRegion. Every replica must use the same.
	ShardBy string
	// IgnoreReadAfter turns read-your-writes off (for experiments only: the
	// replica-lag drill's negative control): reads go to any replica that answers,
	// whatever the request's academy.ReadAfter needs.
	IgnoreReadAfter bool
}

// DefaultQueueWait is the default of Options.QueueWait.
const DefaultQueueWait = 250 * time.Millisecond

// DB is the sharded store. It implements academy.Store and is safe for
// concurrent use. Close releases the pools.
type DB struct {
	shards []*pool

	replicas     [][]*standby // per shard; nil without replicas
	turn         atomic.Uint64
	primaryReads atomic.Int64
	stopPoll     context.CancelFunc
	pollDone     chan struct{}

	ignoreReadAfter bool     // Options.IgnoreReadAfter
	byRegion        bool     // Options.ShardBy == ShardByRegion
	regions         sync.Map // user id → shard, from the directory (region sharding)
}

var _ academy.Store = (*DB)(nil)

// Open connects to every shard URL; shard i is urls[i] and shard 0 is the
// catalog shard. The order of urls must be the same on every replica.
func Open(ctx context.Context, urls []string, opts Options) (*DB, error) {
	if len(urls) == 0 {
		return nil, errors.New("no database url")
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 20
	}
	if opts.QueueWait == 0 {
		opts.QueueWait = DefaultQueueWait
	}
	db := &DB{ignoreReadAfter: opts.IgnoreReadAfter}
	switch opts.ShardBy {
	case "", ShardByUser:
	case ShardByRegion:
		db.byRegion = true
	default:
		return nil, fmt.Errorf("shard by %q: want %s or %s", opts.ShardBy, ShardByUser, ShardByRegion)
	}
	for i, u := range urls {
		cfg, err := pgxpool.ParseConfig(u)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("parse database url %d: %w", i, err)
		}
		cfg.MaxConns = opts.MaxConns
		p, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("connect to shard %d: %w", i, err)
		}
		db.shards = append(db.shards, &pool{p: p, wait: opts.QueueWait})
	}
	if len(opts.ReplicaURLs) > 0 {
		if err := db.openReplicas(ctx, opts.ReplicaURLs, opts); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// Close closes every pool.
func (db *DB) Close() {
	db.closeReplicas()
	for _, p := range db.shards {
		p.Close()
	}
}

// Shards is the number of shards.
func (db *DB) Shards() int { return len(db.shards) }

func (db *DB) catalog() *pool { return db.shards[0] }

// userShard is the primary of the shard of user id; with region sharding, for a user the
// directory does not know (or cannot tell) a pool whose operations fail (downPool).
func (db *DB) userShard(id uuid.UUID) *pool {
	if !db.byRegion {
		return db.shards[academy.ShardOf(id, len(db.shards))]
	}
	i, err := db.regionShard(id)
	if err != nil {
		return downPool(err)
	}
	return db.shards[i]
}

// shardIndex is the shard of user id, or -1 when the directory cannot tell.
func (db *DB) shardIndex(id uuid.UUID) int {
	if !db.byRegion {
		return academy.ShardOf(id, len(db.shards))
	}
	i, _ := db.regionShard(id)
	return i
}

// Ping checks every shard. It waits for a connection as long as ctx
// allows (no queue budget: readiness probes are not shed).
func (db *DB) Ping(ctx context.Context) error {
	for i, p := range db.shards {
		if err := p.Ping(ctx); err != nil {
			return dbErr(fmt.Sprintf("ping shard %d", i), err)
		}
	}
	return nil
}

// dbErr wraps an unexpected database error: connection problems and
// time-outs become academy.KindUnavailable (503), the rest internal.
func dbErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ae *academy.Error
	if errors.As(err, &ae) {
		return err
	}
	var ne net.Error
	var ce *pgconn.ConnectError
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) || errors.As(err, &ne) || errors.As(err, &ce) || pgconn.SafeToRetry(err) ||
		// A connection that died mid-query (the server was killed or restarted).
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) {
		return &academy.Error{Kind: academy.KindUnavailable, Code: "database_unavailable", Message: op, Err: err}
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "57P01" || pe.Code == "57P03" || pe.Code == "53300" || strings.HasPrefix(pe.Code, "08")) {
		return &academy.Error{Kind: academy.KindUnavailable, Code: "database_unavailable", Message: op, Err: err}
	}
	// Text the database refuses (NUL is not a character of any PostgreSQL
	// encoding): bad input that got past the domain's validation.
	if errors.As(err, &pe) && (pe.Code == "22021" || pe.Code == "22P05") {
		return &academy.Error{Kind: academy.KindInvalid, Code: "invalid_input", Message: "text holds a character the database does not accept", Err: err}
	}
	return fmt.Errorf("%s: %w", op, err)
}

func pgCode(err error) (string, string) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code, pe.ConstraintName
	}
	return "", ""
}

// ---- metrics ----

// Collector returns a prometheus collector of the pools' statistics
// (academy_db_pool_*), labelled by shard.
func (db *DB) Collector() prometheus.Collector { return poolCollector{db} }

type poolCollector struct{ db *DB }

var (
	poolAcquired = prometheus.NewDesc("academy_db_pool_acquired_connections", "Connections in use.", []string{"shard"}, nil)
	poolIdle     = prometheus.NewDesc("academy_db_pool_idle_connections", "Idle connections.", []string{"shard"}, nil)
	poolTotal    = prometheus.NewDesc("academy_db_pool_total_connections", "Open connections.", []string{"shard"}, nil)
	poolMax      = prometheus.NewDesc("academy_db_pool_max_connections", "Maximum pool size.", []string{"shard"}, nil)
	poolAcquires = prometheus.NewDesc("academy_db_pool_acquires_total", "Successful connection acquisitions.", []string{"shard"}, nil)
	poolEmpty    = prometheus.NewDesc("academy_db_pool_empty_acquires_total", "Acquisitions that had to wait for a connection.", []string{"shard"}, nil)
	poolWait     = prometheus.NewDesc("academy_db_pool_acquire_wait_seconds_total", "Total time spent waiting for a connection.", []string{"shard"}, nil)
	poolShed     = prometheus.NewDesc("academy_db_pool_shed_acquires_total", "Acquisitions given up after the queue wait budget (the operation failed as overloaded).", []string{"shard"}, nil)
)

func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolAcquired, poolIdle, poolTotal, poolMax, poolAcquires, poolEmpty, poolWait, poolShed} {
		ch <- d
	}
	describeReplicas(ch)
}

func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	for i, p := range c.db.shards {
		s := p.Stat()
		l := strconv.Itoa(i)
		ch <- prometheus.MustNewConstMetric(poolAcquired, prometheus.GaugeValue, float64(s.AcquiredConns()), l)
		ch <- prometheus.MustNewConstMetric(poolIdle, prometheus.GaugeValue, float64(s.IdleConns()), l)
		ch <- prometheus.MustNewConstMetric(poolTotal, prometheus.GaugeValue, float64(s.TotalConns()), l)
		ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.MaxConns()), l)
		ch <- prometheus.MustNewConstMetric(poolAcquires, prometheus.CounterValue, float64(s.AcquireCount()), l)
		ch <- prometheus.MustNewConstMetric(poolEmpty, prometheus.CounterValue, float64(s.EmptyAcquireCount()), l)
		ch <- prometheus.MustNewConstMetric(poolWait, prometheus.CounterValue, s.AcquireDuration().Seconds(), l)
		ch <- prometheus.MustNewConstMetric(poolShed, prometheus.CounterValue, float64(p.sheds.Load()), l)
	}
	c.db.collectReplicas(ch)
}

// rows helper: collect with a scan function.
func collect[T any](rows pgx.Rows, scan func(pgx.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
