package result

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// WriteJSON writes res as indented JSON (schema loadlab.result/v1, documented in reports/RESULT.md).
// Live histograms are encoded into LatencyHDR and ServiceHDR first where those are
// still empty, so WriteJSON fills those fields of res. An empty Schema is set to
// result.Schema.
func WriteJSON(w io.Writer, res *Result) error {
	if err := EncodeHistograms(res); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // keep "p(99) < 250ms" readable
	if err := enc.Encode(res); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// EncodeHistograms prepares res to be written in any encoding, as WriteJSON does: live
// histograms are encoded into the *_hdr fields where those are still empty, and an empty
// Schema is set to result.Schema.
func EncodeHistograms(res *Result) error {
	if res.Schema == "" {
		res.Schema = Schema
	}
	for _, st := range AllStats(res) {
		if err := encodeStats(st); err != nil {
			return fmt.Errorf("encode histograms of %q: %w", st.Name, err)
		}
	}
	return nil
}

// ReadJSON reads a result written by WriteJSON. It rejects any schema other than
// result.Schema and any corrupt histogram, and decodes the histograms into
// LatencyHist and ServiceHist.
func ReadJSON(r io.Reader) (*Result, error) {
	var res Result
	dec := json.NewDecoder(r)
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	if res.Schema != Schema {
		if res.Schema == "" {
			return nil, errors.New("read result: no schema field (not a loadlab result?)")
		}
		return nil, fmt.Errorf("read result: unsupported schema %q (want %q)", res.Schema, Schema)
	}
	for _, st := range AllStats(&res) {
		var err error
		if st.LatencyHDR != "" {
			if st.LatencyHist, err = DecodeHistogram(st.LatencyHDR); err != nil {
				return nil, fmt.Errorf("read result: latency histogram of %q: %w", st.Name, err)
			}
		}
		if st.ServiceHDR != "" {
			if st.ServiceHist, err = DecodeHistogram(st.ServiceHDR); err != nil {
				return nil, fmt.Errorf("read result: service time histogram of %q: %w", st.Name, err)
			}
		}
		if st.AdmittedHDR != "" {
			if st.AdmittedHist, err = DecodeHistogram(st.AdmittedHDR); err != nil {
				return nil, fmt.Errorf("read result: admitted latency histogram of %q: %w", st.Name, err)
			}
		}
	}
	return &res, nil
}

// AllStats lists every RequestStats of res: total, requests, and those of every window.
func AllStats(res *Result) []*RequestStats {
	var out []*RequestStats
	add := func(st *RequestStats) {
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

func encodeStats(st *RequestStats) error {
	var err error
	if st.LatencyHDR == "" && st.LatencyHist != nil {
		if st.LatencyHDR, err = EncodeHistogram(st.LatencyHist); err != nil {
			return err
		}
	}
	if st.ServiceHDR == "" && st.ServiceHist != nil {
		if st.ServiceHDR, err = EncodeHistogram(st.ServiceHist); err != nil {
			return err
		}
	}
	if st.AdmittedHDR == "" && st.AdmittedHist != nil {
		if st.AdmittedHDR, err = EncodeHistogram(st.AdmittedHist); err != nil {
			return err
		}
	}
	return nil
}
