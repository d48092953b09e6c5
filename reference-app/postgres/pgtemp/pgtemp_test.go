package pgtemp_test

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

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
