package dashboards

import (
	"fmt"
	"os"
	"path/filepath"
)

// File is one generated file: its path below the dashboards directory and its content.
type File struct {
	Path string
	Data []byte
}

// Dashboards returns every dashboard, keyed by its file name below grafana/.
func Dashboards() map[string]*Dashboard {
	return map[string]*Dashboard{
		"academy.json":  Academy(),
		"load-run.json": LoadRun(),
	}
}

// RulesPath is where the rule file goes below the dashboards directory; prometheus.yml
// names it relative to itself.
const RulesPath = "prometheus/rules/slo.rules.yml"

// Render returns every generated file, in a fixed order.
func Render() ([]File, error) {
	var files []File
	for _, name := range []string{"academy.json", "load-run.json"} {
		b, err := Dashboards()[name].JSON()
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
