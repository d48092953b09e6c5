package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trendtactics/loadlab/reference-app/academy"
	"github.com/trendtactics/loadlab/reference-app/postgres"
	"github.com/trendtactics/loadlab/reference-app/postgres/pgtemp"
)

func newMigrate(e *env) *cobra.Command {
	var urls []string
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Apply the embedded migrations to every shard (safe to run from several replicas at once)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			urls := databaseURLs(urls, e.getenv)
			if len(urls) == 0 {
				return usageError{fmt.Errorf("no database: pass --database-url or set ACADEMY_DATABASE_URL")}
			}
			db, err := postgres.Open(cmd.Context(), urls, postgres.Options{MaxConns: 2})
			if err != nil {
				return err
			}
			defer db.Close()
			n, err := db.Migrate(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "applied %d migration(s) on %d shard(s)\n", n, db.Shards())
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&urls, "database-url", nil, "PostgreSQL URL of each shard, shard 0 first (repeat or comma-separate; env ACADEMY_DATABASE_URL)")
	return cmd
}

func newSeed(e *env) *cobra.Command {
	var urls []string
	var spec academy.SeedSpec
	cmd := &cobra.Command{
		Use:   "seed",
		Short: "Replace all data with the deterministic seed data set (migrates first)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			urls := databaseURLs(urls, e.getenv)
			if len(urls) == 0 {
				return usageError{fmt.Errorf("no database: pass --database-url or set ACADEMY_DATABASE_URL")}
			}
			if err := spec.Validate(); err != nil {
				return usageError{err}
			}
			db, err := postgres.Open(ctx, urls, postgres.Options{MaxConns: 4})
			if err != nil {
				return err
			}
			defer db.Close()
			if _, err := db.Migrate(ctx); err != nil {
				return err
			}
			svc, err := academy.NewService(db, nil, academy.Options{Secret: []byte(rand.Text())})
			if err != nil {
				return err
			}
			sum, err := svc.Seed(ctx, academy.Principal{Role: academy.RoleAdmin}, spec)
			if err != nil {
				return err
			}
			return json.NewEncoder(e.stdout).Encode(sum)
		},
	}
	cmd.Flags().StringSliceVar(&urls, "database-url", nil, "PostgreSQL URL of each shard (env ACADEMY_DATABASE_URL)")
	cmd.Flags().IntVar(&spec.Users, "users", 1000, "students to create")
	cmd.Flags().IntVar(&spec.Courses, "courses", 50, "courses to create")
	cmd.Flags().Int64Var(&spec.Seed, "seed", 42, "seed of the deterministic data set")
	return cmd
}

func newPostgres(e *env) *cobra.Command {
	var shards, replicas int
	var name string
	var opts pgtemp.Options
	cmd := &cobra.Command{
		Use:   "postgres",
		Short: "Start a throwaway PostgreSQL, print DATABASE_URL=... and run until SIGINT/SIGTERM",
		Long: `Starts a throwaway PostgreSQL cluster on a free loopback port, creates the
database(s), prints one line DATABASE_URL=postgres://... on stdout (with --shards N,
a comma-separated list of N URLs) and runs until interrupted; then it stops the
server and removes its directory.

With --dir, a cluster already in that directory (left by a postgres that was killed)
is started again with its data, on --port: the local lab restarts a killed database
this way. Before it starts, it sweeps the clusters that dead owners left in the
temporary directory (academy-pg-*, and those matching each --sweep pattern): their
processes, even stopped ones, are killed, their shared memory freed, their
directories removed. --owner names other processes (the lab's harness) whose life
keeps the directory in use, so a sweep leaves it alone while the server is down
between a kill and its restart. --durable acknowledges commits only once their WAL reached the OS, so a
killed server loses no acknowledged write.

With --replicas N it also starts N streaming-replication hot standbys of the cluster
(pg_basebackup -R) in its directory, and prints, before DATABASE_URL, one line
REPLICA_URL=... per standby (the same databases, read-only); after a kill they are
restarted with their data, on their ports, like the primary.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if shards < 1 || shards > 64 {
				return usageError{fmt.Errorf("--shards must be between 1 and 64")}
			}
			if replicas < 0 || replicas > 8 {
				return usageError{fmt.Errorf("--replicas must be between 0 and 8")}
			}
			dbs := []string{name}
			if shards > 1 {
				dbs = dbs[:0]
				for i := range shards {
					dbs = append(dbs, fmt.Sprintf("%s_%d", name, i))
				}
			}
			opts.Databases = dbs
			c, err := pgtemp.Start(cmd.Context(), opts)
			if err != nil {
				return err
			}
			defer c.Stop()
			// A second Ctrl-C kills the server at once; Stop still frees its shared memory
			// and removes the directory. This goroutine ends with the command.
			done := make(chan struct{})
			defer close(done)
			go func() {
				select {
				case <-hurried(cmd.Context()):
					c.Kill()
				case <-done:
				}
			}()
			dbURLs := func(c *pgtemp.Cluster) string {
				urls := make([]string, len(dbs))
				for i, d := range dbs {
					urls[i] = c.URL(d)
				}
				return strings.Join(urls, ",")
			}
			for i := range replicas {
				s, err := c.StartStandby(cmd.Context(), strconv.Itoa(i+1), pgtemp.Options{})
				if err != nil {
					return err
				}
				defer s.Stop() // before the primary's Stop (deferred earlier)
				fmt.Fprintf(e.stdout, "REPLICA_URL=%s\n", dbURLs(s))
			}
			fmt.Fprintf(e.stdout, "DATABASE_URL=%s\n", dbURLs(c))
			e.logger().Info("throwaway postgres running; stop with Ctrl-C", "dir", c.Dir(), "port", c.Port())
			<-cmd.Context().Done()
			return c.Stop()
		},
	}
	cmd.Flags().IntVar(&shards, "shards", 1, "number of databases (shards) to create")
	cmd.Flags().IntVar(&replicas, "replicas", 0, "streaming-replication hot standbys to start (REPLICA_URL=... lines)")
	cmd.Flags().StringVar(&name, "database", "academy", "database name (with --shards N: NAME_0 .. NAME_N-1)")
	cmd.Flags().StringVar(&opts.Dir, "dir", "", "cluster directory (default: a new temporary one); an existing cluster there is restarted with its data")
	cmd.Flags().IntVar(&opts.Port, "port", 0, "port to listen on (default: a free one)")
	cmd.Flags().StringSliceVar(&opts.Sweep, "sweep", nil, "also sweep the stale clusters whose directories match this glob (repeatable)")
	cmd.Flags().IntSliceVar(&opts.Owners, "owner", nil, "another process whose life keeps the cluster directory in use (repeatable)")
	cmd.Flags().BoolVar(&opts.Durable, "durable", false, "synchronous_commit=on: no acknowledged commit is lost when the server is killed")
	return cmd
}
