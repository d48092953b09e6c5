package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/trendtactics/loadlab/loadgen/cluster"
)

func newWorkerCmd(e *env) *cobra.Command {
	var (
		coordinator, token, ca string
		index                  int
		quiet                  bool
		joinTimeout            time.Duration
	)
	cmd := &cobra.Command{
		Use:   "worker [FILE] --coordinator ADDR",
		Short: "Send a coordinator's share of a distributed load test",
		Long: `worker joins a coordinator (loadgen coordinator, or run --workers N) and sends its share of
the scenario's load: it dials the coordinator (no inbound port), authenticates with the shared
token ($LOADGEN_TOKEN or --token), waits for the common start, streams what it measures every
second, and stops at once when told to or when it loses the coordinator.

With FILE, the scenario must be the coordinator's byte for byte (its SHA-256 is compared);
without, the worker runs the coordinator's copy. The index (--index, else
$JOB_COMPLETION_INDEX, else the next free one) chooses the worker's share: global
iterations g with g mod N == index.

A coordinator that does not answer yet (not listening, its name not resolved, a proxy's 502,
503 or 504: pods start in any order) is tried again, with growing pauses, for --join-timeout
(default 1m; 0: one try); then the worker exits 1 naming the address and the last cause. A
refusal is final at once.

Exit codes: 0 done (or stopped by the coordinator), 1 the coordinator was lost or failed,
2 usage error or refused by the coordinator (the message names the cause).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if coordinator == "" {
				return usageErrorf("--coordinator ADDR is required")
			}
			if token == "" {
				token = e.getenv("LOADGEN_TOKEN")
			}
			if token == "" {
				return usageErrorf("no token: set LOADGEN_TOKEN (or --token) as on the coordinator")
			}
			if !cmd.Flags().Changed("index") {
				index = -1
				if v := e.getenv("JOB_COMPLETION_INDEX"); v != "" {
					var err error
					if index, err = strconv.Atoi(v); err != nil || index < 0 {
						return usageErrorf("JOB_COMPLETION_INDEX %q: want an index from 0", v)
					}
				}
			}
			if joinTimeout < 0 {
				return usageErrorf("--join-timeout %s: want 0 or more", joinTimeout)
			}
			cfg := cluster.WorkerConfig{Coordinator: coordinator, Token: token, Version: version, Index: index, JoinTimeout: joinTimeout}
			if len(args) == 1 {
				data, err := os.ReadFile(args[0])
				if err != nil {
					return usageErrorf("%w", err)
				}
				cfg.Scenario, cfg.Path = data, args[0]
			}
			if ca != "" {
				pem, err := os.ReadFile(ca)
				if err != nil {
					return usageErrorf("--ca: %w", err)
				}
				pool := x509.NewCertPool()
				if !pool.AppendCertsFromPEM(pem) {
					return usageErrorf("--ca %s: no PEM certificate", ca)
				}
				cfg.TLS = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
			}
			if !quiet {
				cfg.Log = e.stderr
			}
			err := cluster.RunWorker(cmd.Context(), cfg)
			var re *cluster.RefusedError
			switch {
			case errors.As(err, &re):
				return withCode(exitUsage, err)
			case err != nil:
				return withCode(exitInternal, err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&coordinator, "coordinator", "", "the coordinator's `ADDR`: host:port, or an http:// or https:// URL")
	fl.StringVar(&token, "token", "", "the shared `TOKEN` (default $LOADGEN_TOKEN)")
	fl.IntVar(&index, "index", -1, "this worker's `INDEX` (default $JOB_COMPLETION_INDEX, else the next free one)")
	fl.StringVar(&ca, "ca", "", "verify an https:// coordinator with this CA certificate `FILE` (PEM; default the system's)")
	fl.BoolVarP(&quiet, "quiet", "q", false, "no status lines: only errors")
	fl.DurationVar(&joinTimeout, "join-timeout", time.Minute, "keep trying to reach the coordinator for `D` (0: one try)")
	return cmd
}
