package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/trendtactics/loadlab/loadgen/cluster"
	"github.com/trendtactics/loadlab/loadgen/pipeline"
)

// clusterFlags are the flags of a distributed run (run --workers N, coordinator).
type clusterFlags struct {
	workers     int
	listen      string
	token       string
	cert, key   string
	joinTimeout time.Duration
	maxLost     int
}

func addClusterFlags(fl *pflag.FlagSet, f *clusterFlags) {
	fl.IntVar(&f.workers, "workers", 0, "run the load on `N` worker processes (local ones on loopback unless --listen): one schedule split among them, one merged result")
	fl.StringVar(&f.listen, "listen", "", "with --workers: listen on `ADDR` (host:port) for workers started elsewhere (loadgen worker --coordinator) instead of starting them here")
	fl.StringVar(&f.token, "token", "", "with --listen: the workers' shared `TOKEN` (default $LOADGEN_TOKEN; local workers get a random one)")
	fl.StringVar(&f.cert, "cert", "", "with --listen: serve the workers over TLS with this certificate `FILE` (PEM; with --key)")
	fl.StringVar(&f.key, "key", "", "with --listen: the TLS private key `FILE` (PEM; with --cert)")
	fl.DurationVar(&f.joinTimeout, "join-timeout", 2*time.Minute, "with --workers: how long to wait for every worker to join")
	fl.IntVar(&f.maxLost, "max-lost-workers", 0, "with --workers: how many workers may be lost (silent 3 s) before the run is INVALID; above 0 it overrides the scenario's load.maxLostWorkers/maxLostShare; lost ones are reported with their shortfall either way")
}

// newCoordinatorCmd is `run` with --listen and --workers required: the coordinator of
// workers on other machines.
func newCoordinatorCmd(e *env) *cobra.Command {
	cmd := newRunCmd(e)
	cmd.Use = "coordinator FILE --listen ADDR --workers N"
	cmd.Short = "Run a scenario on workers that join from other machines"
	cmd.Long = `coordinator runs a scenario as run does, but its load is sent by N workers started
elsewhere (loadgen worker --coordinator ADDR): it waits for all of them on --listen, starts
them together, merges what they measure, and writes the one result. Workers authenticate
with the shared token ($LOADGEN_TOKEN or --token); --cert and --key serve them over TLS.
It is run --workers N --listen ADDR.`
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		listen, _ := cmd.Flags().GetString("listen")
		n, _ := cmd.Flags().GetInt("workers")
		if listen == "" || n < 1 {
			return usageErrorf("coordinator needs --listen ADDR and --workers N")
		}
		return nil
	}
	return cmd
}

// startCluster starts the coordinator of a distributed run and, without --listen, its
// local worker processes (this binary's `worker` command); cfg.Generator is set to it.
// stop waits for the workers (killing them after a grace) and closes the listener.
func startCluster(e *env, path string, f runFlags, cfg *pipeline.Config) (stop func(), err error) {
	cf := f.cluster
	local := cf.listen == ""
	if (cf.cert == "") != (cf.key == "") {
		return nil, usageErrorf("--cert and --key go together")
	}
	if local && (cf.cert != "" || cf.token != "") {
		return nil, usageErrorf("--cert, --key and --token are for workers on other machines: use them with --listen")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErrorf("read %s: %w", path, err)
	}
	token := cf.token
	if token == "" && !local {
		token = e.getenv("LOADGEN_TOKEN")
	}
	if token == "" {
		if !local {
			return nil, usageErrorf("the workers must authenticate: set LOADGEN_TOKEN (or --token) on the coordinator and every worker")
		}
		token = cluster.NewToken()
	}
	var tlsConf *tls.Config
	if cf.cert != "" {
		cert, err := tls.LoadX509KeyPair(cf.cert, cf.key)
		if err != nil {
			return nil, usageErrorf("--cert/--key: %w", err)
		}
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	addr := cf.listen
	if local {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, usageErrorf("--listen: %w", err)
	}
	var status io.Writer
	if !f.quiet {
		status = e.stderr
	}
	coord, err := cluster.NewCoordinator(cluster.Config{Workers: cf.workers, Token: token, Version: version, Scenario: data,
		Path: path, TimeScale: f.timeScale, JoinTimeout: cf.joinTimeout, MaxLost: cf.maxLost, Status: status})
	if err != nil {
		ln.Close()
		return nil, usageErrorf("%w", err)
	}
	srv := cluster.NewServer(coord, tlsConf)
	go func() { // ends when stop closes the server
		var err error
		if tlsConf != nil {
			err = srv.ServeTLS(ln, "", "")
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(e.stderr, "loadgen: coordinator: %v\n", err)
		}
	}()
	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
	}
	url := scheme + "://" + ln.Addr().String()
	if !local {
		fmt.Fprintf(e.stderr, "coordinator: waiting for %d workers on %s (loadgen worker --coordinator %s)\n", cf.workers, url, url)
	}
	var procs *cluster.Processes
	remove := func() {}
	if local {
		exe, err := os.Executable()
		if err != nil {
			srv.Close()
			return nil, internalErrorf("find this executable for the workers: %w", err)
		}
		var cmds []*exec.Cmd
		for i := range cf.workers {
			args := []string{"worker", path, "--coordinator", url, "--index", strconv.Itoa(i)}
			if f.quiet {
				args = append(args, "--quiet")
			}
			c := exec.Command(exe, args...)
			c.Env = append(os.Environ(), "LOADGEN_TOKEN="+token)
			c.Stdout, c.Stderr = e.stderr, e.stderr
			cmds = append(cmds, c)
		}
		if procs, err = cluster.StartProcesses(cmds); err != nil {
			srv.Close()
			return nil, internalErrorf("%w", err)
		}
		remove = e.onExit.add(procs.Kill)
	}
	cfg.Generator = coord
	return func() {
		if procs != nil {
			procs.Wait(10 * time.Second) // they exit once the coordinator is done with them
			remove()
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		srv.Close()
	}, nil
}
