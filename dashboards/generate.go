package dashboards

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// File is one generated file: its path below the dashboards directory and its content.
type File struct {
	Path string
	Data []byte
}

// Dashboards builds every dashboard, keyed by its file name below grafana/.
func Dashboards() (map[string]dashboard.Dashboard, error) {
	builders := map[string]func() (dashboard.Dashboard, error){
		"academy.json":  Academy,
		"load-run.json": LoadRun,
	}
	ds := make(map[string]dashboard.Dashboard, len(builders))
	for name, build := range builders {
		d, err := build()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		ds[name] = d
	}
	return ds, nil
}

// RulesPath is where the rule file goes below the dashboards directory; prometheus.yml
// names it relative to itself.
const RulesPath = "prometheus/rules/slo.rules.yml"

// Render returns every generated file, in a fixed order: the dashboards by file name, then
// the rules.
func Render() ([]File, error) {
	ds, err := Dashboards()
	if err != nil {
		return nil, err
	}
	var files []File
	for _, name := range slices.Sorted(maps.Keys(ds)) {
		b, err := JSON(ds[name])
		if err != nil {
			return nil, err
		}
		files = append(files, File{Path: filepath.Join("grafana", name), Data: b})
	}
	b, err := Rules().YAML()
	if err != nil {
		return nil, err
	}
	files = append(files, File{Path: filepath.FromSlash(RulesPath), Data: b})
	return files, nil
}

// Write renders every generated file into dir (the dashboards directory).
func Write(dir string) error {
	files, err := Render()
	if err != nil {
		return err
	}
	for _, f := range files {
		p := filepath.Join(dir, f.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	return nil
}
