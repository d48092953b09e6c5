package pgtemp_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trendtactics/loadlab/reference-app/postgres/pgtemp"
)

// TestStandbyReplicatesAndRestarts starts a primary and a streaming standby: a table
// written on the primary is read on the standby, which refuses writes. Both are killed, as
// the lab's process.kill of the database does, and started again in their directories: the
// standby keeps its port, its data, and replays what the primary writes next. The primary's
// Stop removes the standby too.
func TestStandbyReplicatesAndRestarts(t *testing.T) {
	if _, err := pgtemp.FindBinDir(); errors.Is(err, pgtemp.ErrNotInstalled) {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("pgtemp-standby-test-%d", os.Getpid()))
	primary, err := pgtemp.Start(ctx, pgtemp.Options{Dir: dir, Databases: []string{"app"}})
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Stop()
	standby, err := primary.StartStandby(ctx, "1", pgtemp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	exec := func(url, sql string) error {
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	// replicated waits until the standby has n rows.
	replicated := func(s *pgtemp.Cluster, n int) {
		t.Helper()
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			conn, err := pgx.Connect(ctx, s.URL("app"))
			got := -1
			if err == nil {
				_ = conn.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&got)
				conn.Close(ctx)
			}
			if got == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the standby has %d rows (%v), want %d", got, err, n)
			}
		}
	}
	if err := exec(primary.URL("app"), "CREATE TABLE t (x int); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	replicated(standby, 1)
	if err := exec(standby.URL("app"), "INSERT INTO t VALUES (2)"); err == nil {
		t.Fatal("the standby accepted a write")
	}

	standby.Kill()
	primary.Kill()
	primary, err = pgtemp.Start(ctx, pgtemp.Options{Dir: dir, Port: primary.Port()})
	if err != nil {
		t.Fatal(err)
	}
	defer primary.Stop()
	again, err := primary.StartStandby(ctx, "1", pgtemp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if again.Port() != standby.Port() {
		t.Errorf("the restarted standby listens on %d, was %d", again.Port(), standby.Port())
	}
	if err := exec(primary.URL("app"), "INSERT INTO t VALUES (3)"); err != nil {
		t.Fatal(err)
	}
	replicated(again, 2)
	if err := primary.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("directory left behind (%v)", err)
	}
}
