package pgtemp_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/reference-app/postgres/pgtemp"
)

func TestStartCreateStop(t *testing.T) {
	if _, err := pgtemp.FindBinDir(); errors.Is(err, pgtemp.ErrNotInstalled) {
		t.Skip(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := pgtemp.Start(ctx, pgtemp.Options{Databases: []string{"one", "two"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, db := range []string{"one", "two"} {
		conn, err := pgx.Connect(ctx, c.URL(db))
		if err != nil {
			t.Fatalf("connect %s: %v", db, err)
		}
		var got string
		if err := conn.QueryRow(ctx, "select current_database()").Scan(&got); err != nil || got != db {
			t.Fatalf("current_database = %q, %v; want %q", got, err, db)
		}
		var fsync string
		if err := conn.QueryRow(ctx, "show fsync").Scan(&fsync); err != nil || fsync != "off" {
			t.Fatalf("fsync = %q, %v; want off", fsync, err)
		}
		conn.Close(ctx)
	}
	if err := c.CreateDatabase(ctx, "three", "one"); err != nil {
		t.Fatal(err)
	}
	dir := c.Dir()
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("directory %s still exists after Stop: %v", dir, err)
	}
	if _, err := pgx.Connect(ctx, c.URL("one")); err == nil {
		t.Fatal("server still accepts connections after Stop")
	}
	if err := c.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}

func TestNotInstalledMessage(t *testing.T) {
	if got := pgtemp.ErrNotInstalled.Error(); !contains(got, "apt-get install postgresql") {
		t.Fatalf("error %q does not name the install command", got)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

// A cluster whose owner was SIGKILLed leaves its directory; the next
// Start (SweepStale) removes it, and keeps those of live owners.
func TestSweepStaleRemovesDeadOwnersDirectories(t *testing.T) {
	if _, err := pgtemp.FindBinDir(); errors.Is(err, pgtemp.ErrNotInstalled) {
		t.Skip(err)
	}
	if os.Getenv("PGTEMP_CHILD") == "1" {
		c, err := pgtemp.Start(context.Background(), pgtemp.Options{})
		if err != nil {
			os.Exit(3)
		}
		os.Stdout.WriteString(c.Dir() + "\n")
		select {} // until killed
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestSweepStaleRemovesDeadOwnersDirectories$")
	cmd.Env = append(os.Environ(), "PGTEMP_CHILD=1")
	dir := testutil.StartLine(t, cmd)
	mine, err := pgtemp.Start(context.Background(), pgtemp.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer mine.Stop()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("live owner's directory removed: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("killed owner's directory vanished by itself? %v", err)
	}
	removed := pgtemp.SweepStale()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("stale directory %s not removed (removed %v)", dir, removed)
	}
	if _, err := os.Stat(mine.Dir()); err != nil {
		t.Fatalf("sweep removed a live cluster: %v", err)
	}
}
