// Command gen writes loadlab's generated Grafana dashboards and Prometheus rules.
//
//	go run ./dashboards/cmd/gen [-dir dashboards]
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/trendtactics/loadlab/dashboards"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "dashboards", "the dashboards `directory` to write grafana/*.json and prometheus/rules/*.yml into")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if err := dashboards.Write(*dir); err != nil {
		fmt.Fprintf(stderr, "gen: %v\n", err)
		return 1
	}
	return 0
}
