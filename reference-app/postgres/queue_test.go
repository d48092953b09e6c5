package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/reference-app/academy"
	"github.com/trendtactics/loadlab/reference-app/postgres"
)

// shedAcquires reads academy_db_pool_shed_acquires_total of shard 0.
func shedAcquires(t *testing.T, db *postgres.DB) float64 {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(db.Collector())
	return testutil.Value(t, reg, "academy_db_pool_shed_acquires_total", prometheus.Labels{"shard": "0"})
}

// waitReleased waits until no connection of shard 0 is acquired: a broken
// connection is destroyed in the background, so the count may lag a little.
func waitReleased(t *testing.T, db *postgres.DB) {
	t.Helper()
	for i := 0; ; i++ {
		n := db.Pool(0).Stat().AcquiredConns()
		if n == 0 {
			return
		}
		if i == 500 {
			t.Fatalf("%d connection(s) still acquired: leaked", n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// With the pool's one connection held, an operation fails as overloaded
// (not as an unavailable database) once the wait budget is spent, and
// works again when the connection is back.
//
// Only the operations tried while the connection is held must be shed:
// before and after, the pool's first dial or the ping of a connection idle
// for a second is part of the 50 ms budget and may outlast it on a slow
// machine, so those are tried again (retried).
func TestQueueWaitShedsWhenThePoolIsBusy(t *testing.T) {
	ctx := context.Background()
	db := newDBWith(t, 1, postgres.Options{MaxConns: 1, QueueWait: 50 * time.Millisecond})
	tx, err := retried(t, func() (pgx.Tx, error) { return db.Pool(0).Begin(ctx) })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = tx.Rollback(ctx) }) // on failure: the store's Close waits for the connection
	before := shedAcquires(t, db)
	_, err = db.UserByID(ctx, uuid.New())
	var oe *academy.OverloadError
	if !errors.Is(err, academy.ErrOverloaded) || !errors.As(err, &oe) || oe.Queue != academy.QueueDB || academy.KindOf(err) != academy.KindUnavailable {
		t.Fatalf("read with the pool held: %v, want an overloaded error of queue db", err)
	}
	if got := shedAcquires(t, db) - before; got != 1 {
		t.Fatalf("academy_db_pool_shed_acquires_total rose by %v, want 1", got)
	}

	// The caller's own deadline, shorter than the budget: that is no shed.
	short, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
	_, err = db.UserByID(short, uuid.New())
	cancel()
	if err == nil || errors.Is(err, academy.ErrOverloaded) || academy.KindOf(err) != academy.KindUnavailable {
		t.Fatalf("read whose context ended first: %v, want database_unavailable, not overloaded", err)
	}
	if got := shedAcquires(t, db) - before; got != 1 {
		t.Fatalf("academy_db_pool_shed_acquires_total rose by %v after a caller's time-out, want still 1", got)
	}

	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := retried(t, func() (academy.UserRecord, error) { return db.UserByID(ctx, uuid.New()) }); !errors.Is(err, academy.ErrNotFound) {
		t.Fatalf("read with the connection back: %v, want not found", err)
	}
	waitReleased(t, db)
}

// retried calls op until it is not shed (academy.ErrOverloaded), 200
// times at most, and returns its last result.
func retried[T any](t *testing.T, op func() (T, error)) (T, error) {
	t.Helper()
	for range 200 {
		v, err := op()
		if !errors.Is(err, academy.ErrOverloaded) {
			return v, err
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("shed 200 times in a row with the connection free")
	panic("unreachable")
}

// A negative QueueWait waits as long as the context allows.
func TestQueueWaitNegativeIsUnbounded(t *testing.T) {
	ctx := context.Background()
	db := newDBWith(t, 1, postgres.Options{MaxConns: 1, QueueWait: -1})
	tx, err := db.Pool(0).Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := db.UserByID(ctx, uuid.New()); done <- err }() // ends once the transaction below is rolled back
	select {
	case err := <-done:
		t.Fatalf("read returned %v while the only connection was held", err)
	case <-time.After(300 * time.Millisecond): // more than the default budget
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, academy.ErrNotFound) {
		t.Fatalf("read after the wait: %v, want not found", err)
	}
}

// Every kind of operation gives its connection back, whether it succeeds,
// fails at once or fails half-way: with 2 connections, hundreds of
// operations would stall on the first leak, and none is left acquired.
func TestPoolReleasesEveryConnection(t *testing.T) {
	ctx := context.Background()
	db := newDBWith(t, 1, postgres.Options{MaxConns: 2, QueueWait: 5 * time.Second})
	p := db.Pool(0)
	if _, err := p.Exec(ctx, `CREATE TABLE copy_t (n int NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	count := func(sql string) (int, error) {
		rows, err := p.Query(ctx, sql)
		if err != nil {
			return 0, err
		}
		n := 0
		for rows.Next() { // read to the end, no Close: Next's false must release
			n++
		}
		return n, rows.Err()
	}
	ops := []struct {
		name    string
		run     func() error
		wantErr bool
	}{
		{"query closed early", func() error {
			rows, err := p.Query(ctx, `SELECT generate_series(1, 1000)`)
			if err != nil {
				return err
			}
			rows.Next()
			rows.Close()
			return nil
		}, false},
		{"query read to the end", func() error {
			if n, err := count(`SELECT generate_series(1, 10)`); err != nil || n != 10 {
				return fmt.Errorf("%d rows, %v", n, err)
			}
			return nil
		}, false},
		{"query failing half-way", func() error { _, err := count(`SELECT 1 / (3 - g) FROM generate_series(1, 5) g`); return err }, true},
		{"query scan error", func() error {
			rows, err := p.Query(ctx, `SELECT 'x' FROM generate_series(1, 5)`)
			if err != nil {
				return err
			}
			defer rows.Close()
			rows.Next()
			var n int
			return rows.Scan(&n)
		}, true},
		{"query scan error without Close", func() error {
			rows, err := p.Query(ctx, `SELECT 'x'`)
			if err != nil {
				return err
			}
			rows.Next()
			var n int
			return rows.Scan(&n)
		}, true},
		{"query syntax error", func() error { _, err := p.Query(ctx, `SELEC 1`); return err }, true},
		{"query row", func() error {
			var n int
			if err := p.QueryRow(ctx, `SELECT 7`).Scan(&n); err != nil || n != 7 {
				return fmt.Errorf("%d, %v", n, err)
			}
			return nil
		}, false},
		{"query row no rows", func() error { var n int; return p.QueryRow(ctx, `SELECT 1 WHERE false`).Scan(&n) }, true},
		{"query row error", func() error { var n int; return p.QueryRow(ctx, `SELECT 1 / 0`).Scan(&n) }, true},
		{"exec", func() error { _, err := p.Exec(ctx, `INSERT INTO copy_t VALUES (1)`); return err }, false},
		{"exec error", func() error { _, err := p.Exec(ctx, `INSERT INTO copy_t VALUES (NULL)`); return err }, true},
		{"tx commit", func() error {
			tx, err := p.Begin(ctx)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO copy_t VALUES (2)`); err != nil {
				return err
			}
			return tx.Commit(ctx)
		}, false},
		{"tx rollback", func() error {
			tx, err := p.Begin(ctx)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `INSERT INTO copy_t VALUES (3)`); err != nil {
				return err
			}
			return tx.Rollback(ctx)
		}, false},
		{"tx failing, then commit", func() error {
			tx, err := p.Begin(ctx)
			if err != nil {
				return err
			}
			_, _ = tx.Exec(ctx, `SELECT 1 / 0`)
			return tx.Commit(ctx) // aborted transaction: pgx reports ErrTxCommitRollback
		}, true},
		{"tx rows left open, then rollback", func() error {
			tx, err := p.Begin(ctx)
			if err != nil {
				return err
			}
			rows, err := tx.Query(ctx, `SELECT generate_series(1, 1000)`)
			if err != nil {
				return err
			}
			rows.Next()
			rows.Close()
			return tx.Rollback(ctx)
		}, false},
		{"begin func commit", func() error {
			return pgx.BeginFunc(ctx, p, func(tx pgx.Tx) error { _, err := tx.Exec(ctx, `INSERT INTO copy_t VALUES (4)`); return err })
		}, false},
		{"begin func error", func() error {
			return pgx.BeginFunc(ctx, p, func(tx pgx.Tx) error { return errors.New("fn failed") })
		}, true},
		{"copy from", func() error {
			_, err := p.CopyFrom(ctx, pgx.Identifier{"copy_t"}, []string{"n"}, pgx.CopyFromRows([][]any{{5}, {6}}))
			return err
		}, false},
		{"copy from error", func() error {
			_, err := p.CopyFrom(ctx, pgx.Identifier{"copy_t"}, []string{"nope"}, pgx.CopyFromRows([][]any{{5}}))
			return err
		}, true},
		{"acquire", func() error {
			c, err := p.Acquire(ctx)
			if err != nil {
				return err
			}
			c.Release()
			return nil
		}, false},
		{"context canceled mid-query", func() error {
			cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
			defer cancel()
			_, err := p.Exec(cctx, `SELECT pg_sleep(10)`)
			return err
		}, true},
	}
	for round := range 5 {
		for _, op := range ops {
			if err := op.run(); (err != nil) != op.wantErr {
				t.Fatalf("round %d, %s: error %v, want error %v", round, op.name, err, op.wantErr)
			} else if errors.Is(err, academy.ErrOverloaded) {
				t.Fatalf("round %d, %s: %v: a connection leaked", round, op.name, err)
			}
		}
	}
	waitReleased(t, db)
	// The store's own operations too, on the same 2 connections.
	c, err := db.CreateCourse(ctx, academy.Course{ID: uuid.New(), Slug: "leak", Title: "T", Category: "x", InstructorID: uuid.New(), Capacity: 1,
		CreatedAt: time.Now(), UpdatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for range 20 {
		u := uuid.New()
		if _, err := db.Enroll(ctx, u, c.ID, ""); err != nil && !errors.Is(err, academy.ErrCourseFull) {
			t.Fatal(err)
		}
		if _, err := db.Enrollments(ctx, u); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ListCourses(ctx, academy.CourseFilter{Limit: 5}); err != nil {
			t.Fatal(err)
		}
		if err := db.Exclusive(ctx, func(ctx context.Context) error { _, err := db.Empty(ctx); return err }); err != nil {
			t.Fatal(err)
		}
		if err := db.Unenroll(ctx, u, c.ID); err != nil && !errors.Is(err, academy.ErrEnrollmentMissing) {
			t.Fatal(err)
		}
	}
	waitReleased(t, db)
	if got := shedAcquires(t, db); got != 0 {
		t.Fatalf("%v acquisitions shed with a 5s budget and no contention", got)
	}
}
