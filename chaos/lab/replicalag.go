package lab

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trendtactics/loadlab/chaos"
	"github.com/trendtactics/loadlab/result"

	"github.com/trendtactics/loadlab/scenarios"
)

// replicaLag is database.replica-lag: WAL replay paused on every read replica of the
// lab's database (pg_wal_replay_pause), resumed at rollback (pg_wal_replay_resume). The
// replicas keep receiving WAL and answering reads, from a state that stops moving: they
// fall behind the primary by everything written meanwhile.
type replicaLag struct {
	urls   []string
	report func(kind, detail string) // nil: no events
}

var _ chaos.EventReporter = (*replicaLag)(nil)

// ReportEvents implements chaos.EventReporter: as the fault ends, each replica's distance
// behind the primary (WAL received and not replayed) is reported as result.EventReplicaBehind.
func (r *replicaLag) ReportEvents(report func(kind, detail string)) { r.report = report }

func (l *Lab) databaseFault(f *scenarios.Fault) (chaos.Injector, error) {
	if f.Kind != scenarios.FaultDatabaseReplicaLag {
		return nil, fmt.Errorf("unknown database fault %s", f.Kind)
	}
	if len(l.replicaURLs) == 0 {
		return nil, errors.New("database.replica-lag needs read replicas: set target.lab.db-replicas to 1 or more")
	}
	return &replicaLag{urls: l.ReplicaURLs()}, nil
}

// Inject pauses the replay on every replica and returns once each reports it paused: the
// pause is in force (and its start time true) only then.
func (r *replicaLag) Inject(ctx context.Context) error {
	return r.each(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		if _, err := conn.Exec(ctx, "SELECT pg_wal_replay_pause()"); err != nil {
			return err
		}
		for deadline := time.Now().Add(pauseWait); ; time.Sleep(5 * time.Millisecond) {
			var state string
			if err := conn.QueryRow(ctx, "SELECT pg_get_wal_replay_pause_state()").Scan(&state); err != nil {
				return err
			}
			if state == "paused" {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("replay still %s %s after pg_wal_replay_pause", state, pauseWait)
			}
		}
	})
}

// Rollback reports how far behind each replica is, then resumes its replay.
func (r *replicaLag) Rollback(ctx context.Context) error {
	i := 0
	return r.each(ctx, func(ctx context.Context, conn *pgx.Conn) error {
		i++
		var behind int64
		if err := conn.QueryRow(ctx, "SELECT coalesce(pg_last_wal_receive_lsn() - pg_last_wal_replay_lsn(), 0)::bigint").Scan(&behind); err == nil && r.report != nil {
			r.report(result.EventReplicaBehind, fmt.Sprintf("replica %d: %d bytes of WAL received and not replayed", i, behind))
		}
		_, err := conn.Exec(ctx, "SELECT pg_wal_replay_resume()")
		return err
	})
}

func (r *replicaLag) each(ctx context.Context, fn func(context.Context, *pgx.Conn) error) error {
	var errs []error
	for i, u := range r.urls {
		err := func() error {
			ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, u)
			if err != nil {
				return err
			}
			defer conn.Close(context.WithoutCancel(ctx))
			return fn(ctx, conn)
		}()
		if err != nil {
			errs = append(errs, fmt.Errorf("database replica %d: %w", i+1, err))
		}
	}
	return errors.Join(errs...)
}
