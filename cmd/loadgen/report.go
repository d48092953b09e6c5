package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
)

type reportFlags struct {
	format string
	out    string
}

func newReportCmd(e *env) *cobra.Command {
	var f reportFlags
	cmd := &cobra.Command{
		Use:   "report RESULT.json",
		Short: "Render a saved result as text, JSON, JUnit XML, Markdown or HTML",
		Long: `report reads a result written by run (schema loadlab.result/v1) and renders it again,
with the figures and verdict the run recorded.

Formats: text (the terminal summary), json (result.json), junit (junit.xml), md (summary.md,
for a CI job summary), html (report.html: self-contained, charts included, no network needed).
Without --out one format is written to stdout; with --out DIR each goes to its file in DIR.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return renderReport(e, args[0], f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.format, "format", "text", "comma-separated `FORMATS`: text, json, junit, md, html")
	fl.StringVar(&f.out, "out", "", "write each format to its file (summary.txt, result.json, junit.xml, summary.md, report.html) in `DIR`")
	return cmd
}

func renderReport(e *env, path string, f reportFlags) error {
	formats, err := reports.ParseFormats(f.format)
	if err != nil {
		return usageErrorf("--format: %w", err)
	}
	if f.out == "" && len(formats) > 1 {
		return usageErrorf("--format %s: several formats need --out DIR", f.format)
	}
	res, err := readResult(path)
	if err != nil {
		return withCode(exitUsage, err)
	}
	if f.out == "" {
		bw := bufio.NewWriter(e.stdout)
		if err := formats[0].Write(bw, res); err != nil {
			return internalErrorf("%w", err)
		}
		if err := bw.Flush(); err != nil {
			return internalErrorf("write %s: %w", formats[0].Name, err)
		}
		return nil
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return internalErrorf("create output directory: %w", err)
	}
	files, err := writeReports(f.out, formats, res)
	for _, file := range files {
		fmt.Fprintf(e.stdout, "report: %s\n", file)
	}
	if err != nil {
		return internalErrorf("%w", err)
	}
	return nil
}

// readResult reads a result file written by run.
func readResult(path string) (*result.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	defer f.Close()
	res, err := result.ReadJSON(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return res, nil
}

// writeReports writes res in each format to its file in dir, and returns the files written.
func writeReports(dir string, formats []reports.Format, res *result.Result) ([]string, error) {
	var files []string
	for _, f := range formats {
		file := filepath.Join(dir, f.File)
		if err := writeFileAtomic(file, func(w io.Writer) error { return f.Write(w, res) }); err != nil {
			return files, fmt.Errorf("write %s: %w", file, err)
		}
		files = append(files, file)
	}
	return files, nil
}

// writeFileAtomic writes a file through a temporary file and a rename: a reader never
// sees half a file.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+"-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	bw := bufio.NewWriterSize(tmp, 64<<10)
	if err := write(bw); err != nil {
		tmp.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
