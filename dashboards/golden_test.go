package dashboards_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/trendtactics/loadlab/dashboards"
	"github.com/trendtactics/loadlab/internal/testutil"
)

// TestGenerated checks that the committed JSON and rule files are what the code produces;
// go test ./dashboards -run TestGenerated -update (or go generate ./dashboards) rewrites them.
func TestGenerated(t *testing.T) {
	if testutil.Update() {
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
	for name, d := range builtDashboards(t) {
		if _, err := os.Stat(filepath.Join("grafana", name)); err != nil {
			t.Errorf("dashboard %s: %v", name, err)
		}
		if d.Uid == nil || *d.Uid == "" {
			t.Errorf("dashboard %s has no uid", name)
			continue
		}
		uid := *d.Uid
		if other, dup := uids[uid]; dup {
			t.Errorf("dashboards %s and %s share uid %q", name, other, uid)
		}
		uids[uid] = name
		if len(uid) > 40 {
			t.Errorf("uid %q is longer than Grafana's 40 characters", uid)
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
	for name, d := range builtDashboards(t) {
		for _, p := range d.Panels {
			title := "(untitled)"
			switch {
			case p.Panel != nil && p.Panel.Title != nil:
				title = *p.Panel.Title
			case p.RowPanel != nil && p.RowPanel.Title != nil:
				title = *p.RowPanel.Title
			}
			if !bytes.Contains(readme, []byte("| "+title+" |")) {
				t.Errorf("README.md does not describe %s panel %q", name, title)
			}
		}
	}
}

// builtDashboards returns every dashboard as the SDK's builders made it.
func builtDashboards(t *testing.T) map[string]dashboard.Dashboard {
	t.Helper()
	ds, err := dashboards.Dashboards()
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

// TestPanelsFitTheGrid checks the layout the SDK's builder made: it places each panel after
// the previous one and starts a new line only once a line is full, so a line whose widths do
// not add up to 24 would push a panel past the right edge or over another.
func TestPanelsFitTheGrid(t *testing.T) {
	for name, d := range builtDashboards(t) {
		taken := map[[2]uint32]uint32{} // cell (x, y) -> panel id
		for _, p := range d.Panels {
			var g *dashboard.GridPos
			var id uint32
			switch {
			case p.Panel != nil:
				g, id = p.Panel.GridPos, *p.Panel.Id
			case p.RowPanel != nil:
				g, id = p.RowPanel.GridPos, p.RowPanel.Id
			}
			if g == nil {
				t.Errorf("%s: panel %d has no position", name, id)
				continue
			}
			if g.X+g.W > 24 {
				t.Errorf("%s: panel %d spans columns %d to %d, beyond 24", name, id, g.X, g.X+g.W)
			}
			for x := g.X; x < g.X+g.W; x++ {
				for y := g.Y; y < g.Y+g.H; y++ {
					if other, ok := taken[[2]uint32{x, y}]; ok {
						t.Errorf("%s: panels %d and %d overlap at (%d, %d)", name, other, id, x, y)
					}
					taken[[2]uint32{x, y}] = id
				}
			}
		}
	}
}
