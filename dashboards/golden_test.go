package dashboards_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/trendtactics/loadlab/dashboards"
)

var update = flag.Bool("update", false, "rewrite the committed dashboards and rules from the code")

// TestGenerated checks that the committed JSON and rule files are what the code produces;
// go test ./dashboards -run TestGenerated -update (or go generate ./dashboards) rewrites them.
func TestGenerated(t *testing.T) {
	if *update {
		if err := dashboards.Write("."); err != nil {
			t.Fatal(err)
		}
	}
	files, err := dashboards.Render()
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 3 {
		t.Errorf("rendered %d files, want 3 (two dashboards and the rules)", len(files))
	}
	for _, f := range files {
		got, err := os.ReadFile(f.Path)
		if err != nil {
			t.Errorf("%v (run go generate ./dashboards)", err)
			continue
		}
		if !bytes.Equal(got, f.Data) {
			t.Errorf("%s differs from what the code generates: run go generate ./dashboards (or go test ./dashboards -run TestGenerated -update) and commit", f.Path)
		}
	}
}

// TestRenderIsStable renders twice: map order or anything else random must not leak into
// the files, or the golden check would flap.
func TestRenderIsStable(t *testing.T) {
	a, err := dashboards.Render()
	if err != nil {
		t.Fatal(err)
	}
	b, err := dashboards.Render()
	if err != nil {
		t.Fatal(err)
	}
	for i := range a {
		if !bytes.Equal(a[i].Data, b[i].Data) {
			t.Errorf("%s renders differently twice", a[i].Path)
		}
	}
}

// TestProvisioningFindsDashboards checks that every dashboard file lies where the Grafana
// provisioning points (the grafana/ directory, mounted at the provider's path) and that the
// uids are unique, since Grafana keys provisioned dashboards by uid.
func TestProvisioningFindsDashboards(t *testing.T) {
	uids := map[string]string{}
	for name, d := range dashboards.Dashboards() {
		if _, err := os.Stat(filepath.Join("grafana", name)); err != nil {
			t.Errorf("dashboard %s: %v", name, err)
		}
		if other, dup := uids[d.UID]; dup {
			t.Errorf("dashboards %s and %s share uid %q", name, other, d.UID)
		}
		uids[d.UID] = name
		if len(d.UID) > 40 {
			t.Errorf("uid %q is longer than Grafana's 40 characters", d.UID)
		}
	}
	for _, p := range []string{"grafana/provisioning/dashboards/loadlab.yaml", "grafana/provisioning/datasources/prometheus.yaml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if p == "grafana/provisioning/datasources/prometheus.yaml" && !bytes.Contains(b, []byte("uid: loadlab-prometheus")) {
			t.Errorf("%s does not provision the data source uid the dashboards default to (loadlab-prometheus)", p)
		}
	}
}

// TestReadmeNamesEveryPanel keeps README.md's panel tables in step with the dashboards.
func TestReadmeNamesEveryPanel(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	for name, d := range dashboards.Dashboards() {
		for _, p := range d.Panels {
			if !bytes.Contains(readme, []byte("| "+p.Title+" |")) {
				t.Errorf("README.md does not describe %s panel %q", name, p.Title)
			}
		}
	}
}
