package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

// DefaultReplicaPoll is the default of Options.ReplicaPoll.
const DefaultReplicaPoll = 100 * time.Millisecond

// standby is one read replica of a shard (a PostgreSQL hot standby fed by streaming
// replication), with what the last polls learnt of it.
type standby struct {
	pool *pool
	// replay is the WAL position the replica had replayed at the last successful poll (a
	// lower bound of what it has replayed now: replay only moves forward).
	replay atomic.Uint64
	// caughtUp: at the last poll, the replica had replayed everything the primary had
	// written at the poll before (lag 0); cache fills are served only then.
	caughtUp atomic.Bool
	// polled is when the last poll succeeded (unix nanoseconds; 0: never). A replica not
	// polled for replicaStale serves nothing.
	polled atomic.Int64

	mu          sync.Mutex
	lagBytes    float64
	lagSince    time.Time // when the replica was last seen caught up
	paused      bool
	pollErrors  float64
	readsServed atomic.Int64
}

// replicaStale: a replica whose replay position is older than this serves no read.
const replicaStale = time.Second

// usable reports whether s may serve a read that needs position need (and, for a cache
// fill, a replica that was caught up).
func (s *standby) usable(need uint64, fill bool, now time.Time) bool {
	return now.UnixNano()-s.polled.Load() < int64(replicaStale) && s.replay.Load() >= need && (!fill || s.caughtUp.Load())
}

// openReplicas connects to each shard's replicas (urls[i] are shard i's).
func (db *DB) openReplicas(ctx context.Context, urls [][]string, opts Options) error {
	if len(urls) > len(db.shards) {
		return fmt.Errorf("replicas for %d shards, but %d shards", len(urls), len(db.shards))
	}
	db.replicas = make([][]*standby, len(db.shards))
	for i, us := range urls {
		for j, u := range us {
			cfg, err := pgxpool.ParseConfig(u)
			if err != nil {
				return fmt.Errorf("parse replica url %d of shard %d: %w", j, i, err)
			}
			cfg.MaxConns = opts.MaxConns
			p, err := pgxpool.NewWithConfig(ctx, cfg)
			if err != nil {
				return fmt.Errorf("connect to replica %d of shard %d: %w", j, i, err)
			}
			db.replicas[i] = append(db.replicas[i], &standby{pool: &pool{p: p, wait: opts.QueueWait}, lagSince: time.Now()})
		}
	}
	if opts.ReplicaPoll <= 0 {
		opts.ReplicaPoll = DefaultReplicaPoll
	}
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	db.stopPoll = cancel
	db.pollDone = make(chan struct{})
	db.pollOnce(pctx) // usable from the first read
	// The poller ends at Close.
	go func() {
		defer close(db.pollDone)
		t := time.NewTicker(opts.ReplicaPoll)
		defer t.Stop()
		for {
			select {
			case <-pctx.Done():
				return
			case <-t.C:
				db.pollOnce(pctx)
			}
		}
	}()
	return nil
}

// Replicas is the number of read replicas of each shard.
func (db *DB) Replicas() []int {
	n := make([]int, len(db.shards))
	for i := range db.replicas {
		n[i] = len(db.replicas[i])
	}
	return n
}

// pollOnce reads each shard primary's WAL position, then each replica's replay position.
func (db *DB) pollOnce(ctx context.Context) {
	for i, reps := range db.replicas {
		if len(reps) == 0 {
			continue
		}
		primary, err := queryLSN(ctx, db.shards[i], `SELECT pg_current_wal_insert_lsn()::text, false`)
		for _, s := range reps {
			replay, err2 := queryLSN(ctx, s.pool, `SELECT coalesce(pg_last_wal_replay_lsn(), '0/0')::text, pg_is_wal_replay_paused()`)
			now := time.Now()
			s.mu.Lock()
			if err2 != nil {
				s.pollErrors++
				s.mu.Unlock()
				continue
			}
			if replay.lsn > s.replay.Load() {
				s.replay.Store(replay.lsn)
			}
			s.paused = replay.paused
			if err == nil {
				s.caughtUp.Store(replay.lsn >= primary.lsn)
				s.lagBytes = float64(max(int64(primary.lsn)-int64(replay.lsn), 0))
				if replay.lsn >= primary.lsn {
					s.lagSince = now
				}
			} else {
				s.caughtUp.Store(false)
			}
			s.mu.Unlock()
			s.polled.Store(now.UnixNano())
		}
	}
}

type lsnRow struct {
	lsn    uint64
	paused bool
}

func queryLSN(ctx context.Context, p *pool, sql string) (lsnRow, error) {
	ctx, cancel := context.WithTimeout(ctx, replicaStale)
	defer cancel()
	var text string
	var r lsnRow
	if err := p.p.QueryRow(ctx, sql).Scan(&text, &r.paused); err != nil {
		return r, err
	}
	var err error
	r.lsn, err = ParseLSN(text)
	return r, err
}

// ParseLSN parses PostgreSQL's text form of a WAL position ("16/B374D848").
func ParseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if !ok || err1 != nil || err2 != nil {
		return 0, fmt.Errorf("bad LSN %q", s)
	}
	return h<<32 | l, nil
}

// reader returns the pool to read shard i from: a replica that may serve the read (its
// replay position at least what the context's academy.ReadAfter needs of the shard; for
// a cache fill (academy.CacheFill), caught up at its last poll), the replicas taken in
// turn; else the primary.
func (db *DB) reader(ctx context.Context, i int) *pool {
	reps := db.replicas
	if i >= len(reps) || len(reps[i]) == 0 {
		return db.shards[i]
	}
	need := academy.ReadAfterFrom(ctx).Need(i)
	if db.ignoreReadAfter {
		need = 0
	}
	fill := academy.CacheFill(ctx)
	now := time.Now()
	start := int(db.turn.Add(1))
	for k := range reps[i] {
		s := reps[i][(start+k)%len(reps[i])]
		if s.usable(need, fill, now) {
			s.readsServed.Add(1)
			return s.pool
		}
	}
	db.primaryReads.Add(1)
	return db.shards[i]
}

// catalogReader is reader of the catalog shard.
func (db *DB) catalogReader(ctx context.Context) *pool { return db.reader(ctx, 0) }

// userReader is reader of the shard of user id.
func (db *DB) userReader(ctx context.Context, id uuid.UUID) *pool {
	i := db.shardIndex(id)
	if i < 0 {
		return db.userShard(id) // the failing pool that says why
	}
	return db.reader(ctx, i)
}

// wrote records, in the context's academy.ReadAfter, how far the WAL of shard i had
// reached after a write that just committed there: the caller's next reads then see it.
// It costs one round trip to the primary, and only when the shard has replicas and the
// request carries a token.
func (db *DB) wrote(ctx context.Context, i int) {
	ra := academy.ReadAfterFrom(ctx)
	if ra == nil || i < 0 || i >= len(db.replicas) || len(db.replicas[i]) == 0 {
		return
	}
	r, err := queryLSN(ctx, db.shards[i], `SELECT pg_current_wal_insert_lsn()::text, false`)
	if err != nil {
		// Unknown: the next reads of this caller go to the primary until a later write
		// records a position (the largest known one is the safe choice).
		ra.Advance(i, ^uint64(0)>>1)
		return
	}
	ra.Advance(i, r.lsn)
}

// closeReplicas stops the poller and closes the replicas' pools.
func (db *DB) closeReplicas() {
	if db.stopPoll != nil {
		db.stopPoll()
		<-db.pollDone
	}
	for _, reps := range db.replicas {
		for _, s := range reps {
			s.pool.Close()
		}
	}
}

// ---- metrics ----

var (
	replicaLagBytes = prometheus.NewDesc("academy_db_replica_lag_bytes", "WAL bytes the primary had written that the replica had not replayed, at the last poll.", []string{"shard", "replica"}, nil)
	replicaLagSecs  = prometheus.NewDesc("academy_db_replica_lag_seconds", "Seconds since the replica was last seen caught up with the primary (0 when it is).", []string{"shard", "replica"}, nil)
	replicaPaused   = prometheus.NewDesc("academy_db_replica_replay_paused", "1 when the replica's WAL replay is paused (pg_wal_replay_pause).", []string{"shard", "replica"}, nil)
	replicaUp       = prometheus.NewDesc("academy_db_replica_up", "1 when the replica answered its last poll in time (it may serve reads).", []string{"shard", "replica"}, nil)
	replicaReads    = prometheus.NewDesc("academy_db_replica_reads_total", "Reads served by the replica.", []string{"shard", "replica"}, nil)
	replicaErrors   = prometheus.NewDesc("academy_db_replica_poll_errors_total", "Polls of the replica's replay position that failed.", []string{"shard", "replica"}, nil)
	primaryReads    = prometheus.NewDesc("academy_db_primary_reads_total", "Reads that could go to a replica but went to the primary (no replica had replayed far enough, or none answered).", nil, nil)
)

func describeReplicas(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{replicaLagBytes, replicaLagSecs, replicaPaused, replicaUp, replicaReads, replicaErrors, primaryReads} {
		ch <- d
	}
}

func (db *DB) collectReplicas(ch chan<- prometheus.Metric) {
	if db.replicas == nil {
		return
	}
	now := time.Now()
	ch <- prometheus.MustNewConstMetric(primaryReads, prometheus.CounterValue, float64(db.primaryReads.Load()))
	for i, reps := range db.replicas {
		for j, s := range reps {
			l := []string{strconv.Itoa(i), strconv.Itoa(j)}
			s.mu.Lock()
			lagS := 0.0
			if s.lagBytes > 0 {
				lagS = now.Sub(s.lagSince).Seconds()
			}
			ch <- prometheus.MustNewConstMetric(replicaLagBytes, prometheus.GaugeValue, s.lagBytes, l...)
			ch <- prometheus.MustNewConstMetric(replicaLagSecs, prometheus.GaugeValue, lagS, l...)
			ch <- prometheus.MustNewConstMetric(replicaPaused, prometheus.GaugeValue, b2f(s.paused), l...)
			ch <- prometheus.MustNewConstMetric(replicaErrors, prometheus.CounterValue, s.pollErrors, l...)
			s.mu.Unlock()
			ch <- prometheus.MustNewConstMetric(replicaUp, prometheus.GaugeValue, b2f(now.UnixNano()-s.polled.Load() < int64(replicaStale)), l...)
			ch <- prometheus.MustNewConstMetric(replicaReads, prometheus.CounterValue, float64(s.readsServed.Load()), l...)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
