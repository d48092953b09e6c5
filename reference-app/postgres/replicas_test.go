package postgres_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/reference-app/academy"
	"github.com/trendtactics/loadlab/reference-app/postgres"
	"github.com/trendtactics/loadlab/reference-app/postgres/pgtemp"
)

var (
	standbyOnce sync.Once
	standby     *pgtemp.Cluster
	standbyErr  error
)

// replicaOf returns the URL, on a streaming-replication standby of the shared cluster
// (started once, by the first test that needs it), of the database at primaryURL, once
// the standby has it.
func replicaOf(t *testing.T, primaryURL string) string {
	t.Helper()
	standbyOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		standby, standbyErr = cluster.StartStandby(ctx, "test", pgtemp.Options{})
	})
	if standbyErr != nil {
		t.Fatal(standbyErr)
	}
	replica := standby.URL(databaseName(t, primaryURL))
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := pgx.Connect(context.Background(), replica)
		if err == nil {
			conn.Close(context.Background())
			return replica
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standby never got the database: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// databaseName is the database of a PostgreSQL URL.
func databaseName(t testing.TB, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

func execOn(t *testing.T, dsn, sql string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}

// eventually runs cond every 10 ms until it is true or 10 s have passed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10s: %s", what)
		}
	}
}

// gauge returns the value of metric from db's collector (one shard, one replica: one series).
func gauge(t *testing.T, db *postgres.DB, metric string) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(db.Collector())
	return testutil.Value(t, reg, metric, nil)
}

// TestReadYourWritesOverAStreamingReplica runs the store over a real primary and a real
// streaming replica whose replay is paused (as the database.replica-lag fault does): a
// write's author, carrying its academy.ReadAfter, reads it back (from the primary), while
// a read without the token, served by the lagging replica, does not see it yet: the
// replica really serves reads and really lags. After the replay resumes, the author's
// reads go to the replica again, and see the write.
func TestReadYourWritesOverAStreamingReplica(t *testing.T) {
	ctx := context.Background()
	primary := cluster.NewDatabase(t)
	replica := replicaOf(t, primary)
	db, err := postgres.Open(ctx, []string{primary}, postgres.Options{MaxConns: 4, QueueWait: -1,
		ReplicaURLs: [][]string{{replica}}, ReplicaPoll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if got := db.Replicas(); len(got) != 1 || got[0] != 1 {
		t.Fatalf("replicas %v, want [1]", got)
	}
	course := newCourse(t, db, 10)
	eventually(t, "the replica serves the new course", func() bool {
		before := db.ReplicaReads()
		_, err := db.Course(ctx, course.ID.String())
		return err == nil && db.ReplicaReads() == before+1
	})

	execOn(t, replica, "SELECT pg_wal_replay_pause()")
	defer execOn(t, replica, "SELECT pg_wal_replay_resume()")
	eventually(t, "the poller sees the replay paused", func() bool { return gauge(t, db, "academy_db_replica_replay_paused") == 1 })

	ra := academy.ParseReadAfter("")
	mine := academy.WithReadAfter(ctx, ra)
	user := uuid.New()
	if _, err := db.Enroll(mine, user, course.ID, "k1"); err != nil {
		t.Fatal(err)
	}
	if !ra.Changed() || ra.Need(0) == 0 {
		t.Fatalf("the write recorded no position: %q", ra.Token())
	}
	eventually(t, "the lag is measured", func() bool { return gauge(t, db, "academy_db_replica_lag_bytes") > 0 })

	// The author sees the write: its read goes to the primary.
	primaryBefore := db.PrimaryReads()
	if _, err := db.Enrollment(mine, user, course.ID); err != nil {
		t.Fatalf("the author's read missed its own write: %v", err)
	}
	if db.PrimaryReads() != primaryBefore+1 {
		t.Fatalf("the author's read did not go to the primary")
	}
	// Anyone else's read goes to the lagging replica, which has not replayed it.
	replicaBefore := db.ReplicaReads()
	if _, err := db.Enrollment(ctx, user, course.ID); !errors.Is(err, academy.ErrEnrollmentMissing) {
		t.Fatalf("a read without the token: %v, want ErrEnrollmentMissing from the paused replica", err)
	}
	if db.ReplicaReads() != replicaBefore+1 {
		t.Fatalf("the read without the token was not served by the replica")
	}
	// A cache fill goes to the primary while the replica lags: the cache gets the new seat count.
	if c, err := db.Course(academy.ForCacheFill(ctx), course.ID.String()); err != nil || c.SeatsTaken != 1 {
		t.Fatalf("cache fill read %+v, %v: want seats_taken 1 from the primary", c, err)
	}
	// A token from the cookie round trip means the same.
	if again := academy.ParseReadAfter(ra.Token()); again.Need(0) != ra.Need(0) {
		t.Fatalf("token %q parsed to %d, want %d", ra.Token(), again.Need(0), ra.Need(0))
	}

	execOn(t, replica, "SELECT pg_wal_replay_resume()")
	eventually(t, "the author's reads go to the replica again, and see the write", func() bool {
		before := db.ReplicaReads()
		_, err := db.Enrollment(mine, user, course.ID)
		return err == nil && db.ReplicaReads() == before+1
	})
	if gauge(t, db, "academy_db_replica_up") != 1 {
		t.Fatalf("the replica is not reported up")
	}
}
