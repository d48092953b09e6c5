package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/trendtactics/loadlab/loadgen"
)

// WriteJSON writes res as indented JSON (schema loadlab.result/v1, see RESULT.md).
// Live histograms are encoded into LatencyHDR and ServiceHDR first where those are
// still empty, so WriteJSON fills those fields of res. An empty Schema is set to
// loadgen.ResultSchema.
func WriteJSON(w io.Writer, res *loadgen.Result) error {
	if res.Schema == "" {
		res.Schema = loadgen.ResultSchema
	}
	for _, st := range allStats(res) {
		if err := encodeStats(st); err != nil {
			return fmt.Errorf("encode histograms of %q: %w", st.Name, err)
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // keep "p(99) < 250ms" readable
	if err := enc.Encode(res); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// ReadJSON reads a result written by WriteJSON. It rejects any schema other than
// loadgen.ResultSchema and any corrupt histogram, and decodes the histograms into
// LatencyHist and ServiceHist.
func ReadJSON(r io.Reader) (*loadgen.Result, error) {
	var res loadgen.Result
	dec := json.NewDecoder(r)
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	if res.Schema != loadgen.ResultSchema {
		if res.Schema == "" {
			return nil, errors.New("read result: no schema field (not a loadlab result?)")
		}
		return nil, fmt.Errorf("read result: unsupported schema %q (want %q)", res.Schema, loadgen.ResultSchema)
	}
	for _, st := range allStats(&res) {
		var err error
		if st.LatencyHDR != "" {
			if st.LatencyHist, err = decodeHist(st.LatencyHDR); err != nil {
				return nil, fmt.Errorf("read result: latency histogram of %q: %w", st.Name, err)
			}
		}
		if st.ServiceHDR != "" {
			if st.ServiceHist, err = decodeHist(st.ServiceHDR); err != nil {
				return nil, fmt.Errorf("read result: service time histogram of %q: %w", st.Name, err)
			}
		}
		if st.AdmittedHDR != "" {
			if st.AdmittedHist, err = decodeHist(st.AdmittedHDR); err != nil {
				return nil, fmt.Errorf("read result: admitted latency histogram of %q: %w", st.Name, err)
			}
		}
	}
	return &res, nil
}

// allStats lists every RequestStats of res: total, requests, and those of every window.
func allStats(res *loadgen.Result) []*loadgen.RequestStats {
	var out []*loadgen.RequestStats
	add := func(st *loadgen.RequestStats) {
		if st != nil {
			out = append(out, st)
		}
	}
	add(res.Total)
	for _, st := range res.Requests {
		add(st)
	}
	for _, w := range res.Windows {
		if w == nil {
			continue
		}
		add(w.Total)
		for _, st := range w.Requests {
			add(st)
		}
	}
	return out
}

func encodeStats(st *loadgen.RequestStats) error {
	var err error
	if st.LatencyHDR == "" && st.LatencyHist != nil {
		if st.LatencyHDR, err = encodeHist(st.LatencyHist); err != nil {
			return err
		}
	}
	if st.ServiceHDR == "" && st.ServiceHist != nil {
		if st.ServiceHDR, err = encodeHist(st.ServiceHist); err != nil {
			return err
		}
	}
	if st.AdmittedHDR == "" && st.AdmittedHist != nil {
		if st.AdmittedHDR, err = encodeHist(st.AdmittedHist); err != nil {
			return err
		}
	}
	return nil
}

// encodeHist encodes h as loadgen.DecodeHistogram reads it (hdrhistogram V2 compressed, base64).
func encodeHist(h *hdrhistogram.Histogram) (string, error) {
	return loadgen.EncodeHistogram(h)
}

// decodeHist decodes a histogram with loadgen.DecodeHistogram.
func decodeHist(s string) (h *hdrhistogram.Histogram, err error) {
	defer func() {
		// A corrupt histogram is user input: never let it panic the caller.
		if r := recover(); r != nil {
			h, err = nil, fmt.Errorf("corrupt histogram: %v", r)
		}
	}()
	return loadgen.DecodeHistogram(s)
}
