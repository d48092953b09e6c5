package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time: go build -ldflags "-X main.version=v1.2.3" ./cmd/loadgen
var version = "dev"

const vegetaModule = "github.com/tsenart/vegeta/v12"

func newVersionCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of loadgen, Go and vegeta",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(e.stdout, "loadgen %s\ngo      %s\nvegeta  %s\n", version, runtime.Version(), vegetaVersion())
			return nil
		},
	}
}

// vegetaVersion is the version of the vegeta module linked in, from the build info.
func vegetaVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, d := range bi.Deps {
		if d.Path == vegetaModule {
			if d.Replace != nil {
				return d.Replace.Version
			}
			return d.Version
		}
	}
	return "unknown"
}
