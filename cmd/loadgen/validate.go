package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/scenarios"
)

func newValidateCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check scenario files and report every problem",
		Long: `validate loads each scenario file strictly and prints "ok FILE (N requests, M thresholds)"
for a valid one. For an invalid one it prints every problem on stderr, one a line, as
file:line:column: field: message. It exits 2 if any file is invalid.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			bad := 0
			for _, f := range files {
				spec, err := loadSpec(f)
				if err != nil {
					reportProblems(e.stderr, f, err)
					bad++
					continue
				}
				fmt.Fprintf(e.stdout, "ok %s (%d requests, %d thresholds)\n", f, countRequests(spec), len(spec.Thresholds))
			}
			if bad > 0 {
				return withCode(exitUsage, nil)
			}
			return nil
		},
	}
}

// loadSpec loads and validates a scenario file; a scenario with browser requests also
// needs Chromium on this machine (loadgen.CheckBrowser).
func loadSpec(path string) (*scenarios.Spec, error) {
	spec, err := scenarios.LoadFile(path)
	if err != nil {
		return nil, err
	}
	if err := loadgen.CheckBrowser(spec); err != nil {
		return nil, err
	}
	return spec, nil
}

// reportProblems prints every problem of an invalid file, one a line.
func reportProblems(w io.Writer, path string, err error) {
	var es scenarios.Errors
	if errors.As(err, &es) {
		for _, p := range es {
			fmt.Fprintln(w, p.Error())
		}
		return
	}
	var one *scenarios.Error
	if errors.As(err, &one) {
		fmt.Fprintln(w, one.Error())
		return
	}
	if !strings.Contains(err.Error(), path) {
		err = fmt.Errorf("%s: %w", path, err)
	}
	fmt.Fprintln(w, err)
}

// countRequests counts the named requests of a workload: one per single request, one per flow step.
func countRequests(spec *scenarios.Spec) int {
	n := 0
	for _, it := range spec.Workload {
		if it.Request != nil {
			n++
		}
		n += len(it.Flow)
	}
	return n
}
