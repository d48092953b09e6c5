// Package pgtest starts throwaway PostgreSQL clusters for tests, through
// reference-app/postgres/pgtemp, with the academy's schema migrated into a template database
// from which NewDatabase clones a fresh database: Start for one test, Main for the TestMain
// of a package whose tests share one cluster. It is apart from internal/testutil so that the
// tests that need no database do not depend on the database packages.
//
// The external test packages of reference-app/postgres and pgtemp may import it; their
// internal tests must not, since it imports both.
package pgtest

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

// templateDB is the database of a Cluster that holds the academy's migrated schema.
const templateDB = "template_academy"

// Cluster is a throwaway PostgreSQL cluster (pgtemp) whose template database holds the
// academy's migrated schema; NewDatabase clones a fresh database from it.
type Cluster struct {
	*pgtemp.Cluster
	n atomic.Int64
}

// startCluster starts a cluster with opts (the template database is added to
// opts.Databases) and migrates the template. Its error wraps pgtemp.ErrNotInstalled when
// PostgreSQL is not installed.
func startCluster(opts pgtemp.Options) (*Cluster, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	opts.Databases = append(opts.Databases[:len(opts.Databases):len(opts.Databases)], templateDB)
	c, err := pgtemp.Start(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("start cluster: %w", err)
	}
	db, err := postgres.Open(ctx, []string{c.URL(templateDB)}, postgres.Options{MaxConns: 2})
	if err == nil {
		_, err = db.Migrate(ctx)
		db.Close()
	}
	if err != nil {
		c.Stop()
		return nil, fmt.Errorf("migrate %s: %w", templateDB, err)
	}
	return &Cluster{Cluster: c}, nil
}

// Start starts a cluster for the test, stopped when it ends. The test is skipped when
// PostgreSQL is not installed.
func Start(t testing.TB, opts pgtemp.Options) *Cluster {
	t.Helper()
	c, err := startCluster(opts)
	if errors.Is(err, pgtemp.ErrNotInstalled) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Stop() })
	return c
}

// Main is the body of a TestMain whose tests share one cluster: it starts the
// cluster, sets *c to it, runs the tests and stops it, and returns the exit code for
// os.Exit. When PostgreSQL is not installed it says so and runs no test (exit code 0).
//
//	var cluster *pgtest.Cluster
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m, pgtemp.Options{}, &cluster)) }
func Main(m *testing.M, opts pgtemp.Options, c **Cluster) int {
	cl, err := startCluster(opts)
	if errors.Is(err, pgtemp.ErrNotInstalled) {
		fmt.Println("skipping the tests that need PostgreSQL:", err)
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cl.Stop()
	*c = cl
	return m.Run()
}

// NewDatabase creates a fresh database with the academy's schema and returns its URL.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d", c.n.Add(1))
	if err := c.CreateDatabase(context.Background(), name, templateDB); err != nil {
		t.Fatal(err)
	}
	return c.URL(name)
}

// NeedPostgres skips the test when no PostgreSQL server binaries are installed (for tests
// that start PostgreSQL themselves, or through a program they run).
func NeedPostgres(t testing.TB) {
	t.Helper()
	if _, err := pgtemp.FindBinDir(); errors.Is(err, pgtemp.ErrNotInstalled) {
		t.Skip(err)
	}
}
