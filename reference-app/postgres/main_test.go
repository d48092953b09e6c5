package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/reference-app/postgres"
	"github.com/trendtactics/loadlab/reference-app/postgres/pgtemp"
)

// cluster is shared by every test of the package (TestMain).
var cluster *pgtemp.Cluster

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := pgtemp.Start(ctx, pgtemp.Options{Databases: []string{"template_academy"}})
	if errors.Is(err, pgtemp.ErrNotInstalled) {
		fmt.Println("skipping postgres tests:", err)
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "start cluster:", err)
		return 1
	}
	defer c.Stop()
	db, err := postgres.Open(ctx, []string{c.URL("template_academy")}, postgres.Options{MaxConns: 2})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if _, err := db.Migrate(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	db.Close()
	cluster = c
	return m.Run()
}

var dbCounter atomic.Int64

// newDB returns a migrated store over shards fresh databases. Its
// operations wait for a connection without a budget: the tests that flood
// it check exact outcomes, not shedding.
func newDB(t testing.TB, shards int) *postgres.DB {
	t.Helper()
	return newDBWith(t, shards, postgres.Options{MaxConns: 40, QueueWait: -1})
}

// newDBWith is newDB with opts.
func newDBWith(t testing.TB, shards int, opts postgres.Options) *postgres.DB {
	t.Helper()
	ctx := context.Background()
	var urls []string
	for range shards {
		name := fmt.Sprintf("t%d", dbCounter.Add(1))
		if err := cluster.CreateDatabase(ctx, name, "template_academy"); err != nil {
			t.Fatal(err)
		}
		urls = append(urls, cluster.URL(name))
	}
	db, err := postgres.Open(ctx, urls, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Close waits for every acquired connection: a leak would hang the test.
		closed := make(chan struct{})
		go func() { db.Close(); close(closed) }() // ends when the pools are closed, or never with a leak
		select {
		case <-closed:
		case <-time.After(30 * time.Second):
			t.Error("closing the store blocked for 30s: a connection leaked")
		}
	})
	return db
}
