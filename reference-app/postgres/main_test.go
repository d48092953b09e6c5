package postgres_test

import (
	"context"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/internal/testutil/pgtest"
	"github.com/trendtactics/loadlab/reference-app/postgres"
	"github.com/trendtactics/loadlab/reference-app/postgres/pgtemp"
)

// cluster is shared by every test of the package (TestMain).
var cluster *pgtest.Cluster

func TestMain(m *testing.M) {
	os.Exit(pgtest.Main(m, pgtemp.Options{}, &cluster))
}

// dbCounter numbers the databases that tests create without the template.
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
		urls = append(urls, cluster.NewDatabase(t))
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
