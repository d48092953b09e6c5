package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// academyCommand finds the academy binary the lab starts: --academy, else `academy` next
// to this executable (make build puts both in bin/), else `academy` in PATH.
func academyCommand(flag string) ([]string, error) {
	if flag != "" {
		p, err := exec.LookPath(flag)
		if err != nil {
			return nil, fmt.Errorf("--academy: %w", err)
		}
		return []string{p}, nil
	}
	if self, err := os.Executable(); err == nil {
		p := filepath.Join(filepath.Dir(self), "academy")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return []string{p}, nil
		}
	}
	if p, err := exec.LookPath("academy"); err == nil {
		return []string{p}, nil
	}
	return nil, errors.New("the lab needs the academy binary: build it with `make build` (or `go build -o bin/ ./cmd/...`), or pass --academy PATH")
}
