package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWritesEveryFile(t *testing.T) {
	dir := t.TempDir()
	var stderr bytes.Buffer
	if code := run([]string{"-dir", dir}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, p := range []string{"grafana/academy.json", "grafana/load-run.json", "prometheus/rules/slo.rules.yml"} {
		b, err := os.ReadFile(filepath.Join(dir, p))
		if err != nil {
			t.Error(err)
			continue
		}
		want, err := os.ReadFile(filepath.Join("..", "..", p))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, want) {
			t.Errorf("%s differs from the committed dashboards/%s", p, p)
		}
	}
}

func TestBadFlag(t *testing.T) {
	var stderr bytes.Buffer
	if code := run([]string{"-nope"}, &stderr); code != 2 || !strings.Contains(stderr.String(), "-nope") {
		t.Errorf("exit %d, stderr %q; want 2 and the flag named", code, stderr.String())
	}
}
