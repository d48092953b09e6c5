package testutil

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

// update is the -update flag of every test binary that imports testutil.
var update = flag.Bool("update", false, "rewrite the golden files (and other expected outputs) in testdata/ from what the code produces")

// Update reports whether the test runs with -update: expected outputs are to be rewritten.
func Update() bool { return *update }

// Golden compares got with the file at path (by convention testdata/<Test>.golden.<ext>),
// or, with -update, writes got there (creating its directory).
func Golden(t testing.TB, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what the code produces (go test -update rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
