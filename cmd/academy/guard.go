package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/trendtactics/loadlab/chaos/lab/guard"
	"github.com/trendtactics/loadlab/reference-app/postgres/pgtemp"
)

// newGuard is the local lab's guardian (package chaos/lab/guard): the lab starts it first,
// and when its stdin reaches EOF (the lab stopped, or its harness died, even by SIGKILL) it
// ends every process group the lab named and removes the lab's directories, a PostgreSQL
// cluster's with its processes and shared memory (pgtemp.Remove).
func newGuard(e *env) *cobra.Command {
	return &cobra.Command{
		Use:    "guard",
		Short:  "The local lab's guardian: on EOF of stdin, end the lab's processes and remove its directories",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// Ctrl-C and a closed terminal reach the harness, which stops the lab and then
			// closes the pipe; the guardian must outlive the harness, and it must not die
			// writing its log to a reader that has gone.
			signal.Ignore(os.Interrupt, syscall.SIGHUP, syscall.SIGPIPE)
			fmt.Fprintln(e.stdout, guard.Ready)
			return guard.Serve(cmd.Context(), e.stdin, guard.Options{RemoveDir: pgtemp.Remove, Log: e.stderr})
		},
	}
}
