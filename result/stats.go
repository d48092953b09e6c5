package result

import (
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Out is the outcome of one request as the recorder counts it.
type Out uint8

// The outcomes of a request.
const (
	OutOK        Out = iota // the expected status
	OutStatus               // an unexpected status: an error
	OutTransport            // no response: connection error, build error
	OutTimeout              // no response within the request timeout
	OutSkipped              // not sent: an earlier step of the flow failed
)

// Sample is what the recorder is told of one request.
type Sample struct {
	Name        int // the index of the request's name in the Recorder's names
	Out         Out
	Code        uint16 // the HTTP status; 0 without a response
	Checked     bool   // the response had expectations or captures
	CheckFailed bool
	// At is the latency origin (the intended send time) as an offset from the run start:
	// it selects the windows the sample counts in.
	At               time.Duration
	Latency, Service time.Duration
	// NoLatency marks a sample that counts (as an error) but has no latency: a WebSocket
	// connection dropped by the server is not a message and must not sit among the
	// delivery latencies.
	NoLatency bool
}

// StatusKey is the key of a sample in RequestStats.Statuses: the status code, or "error"
// and "timeout" without a response.
func (s *Sample) StatusKey() string {
	switch s.Out {
	case OutTransport:
		return "error"
	case OutTimeout:
		return "timeout"
	}
	return statusKey(s.Code)
}

// statusKey is a status code as text, without an allocation for the common ones.
func statusKey(code uint16) string {
	switch code {
	case 200:
		return "200"
	case 201:
		return "201"
	case 202:
		return "202"
	case 204:
		return "204"
	case 301:
		return "301"
	case 302:
		return "302"
	case 304:
		return "304"
	case 400:
		return "400"
	case 401:
		return "401"
	case 403:
		return "403"
	case 404:
		return "404"
	case 409:
		return "409"
	case 429:
		return "429"
	case 500:
		return "500"
	case 502:
		return "502"
	case 503:
		return "503"
	case 504:
		return "504"
	}
	return strconv.Itoa(int(code))
}

// Shed reports whether the sample is a shed: the service refused the request to protect
// itself (429 Too Many Requests, 503 Service Unavailable) rather than served it.
func (s *Sample) Shed() bool {
	return s.Out != OutTransport && s.Out != OutTimeout && s.Out != OutSkipped && (s.Code == 429 || s.Code == 503)
}

// newStats returns empty request stats with live histograms, ready to record.
func newStats(name string) *RequestStats {
	return &RequestStats{Name: name, Statuses: map[string]uint64{}, LatencyHist: NewHistogram(), ServiceHist: NewHistogram()}
}

// record counts one sample; key is s.StatusKey().
func (st *RequestStats) record(s *Sample, key string) {
	if s.Out == OutSkipped {
		st.Skipped++
		return
	}
	st.Count++
	if s.Out != OutOK {
		st.Errors++
	}
	if s.Checked {
		st.Checks++
		if s.CheckFailed {
			st.CheckFailures++
		}
	}
	st.Statuses[key]++
	shed := s.Shed()
	switch {
	case shed:
		st.Shed++
		if st.AdmittedHist == nil { // until the first shed, the admitted latency is the latency
			st.AdmittedHist = st.LatencyHist.Clone()
		}
	case s.Out == OutOK:
		st.Good++
	}
	if s.NoLatency {
		return
	}
	us := Micros(s.Latency)
	_ = st.LatencyHist.RecordValue(us)
	_ = st.ServiceHist.RecordValue(Micros(s.Service))
	if st.AdmittedHist != nil && !shed {
		_ = st.AdmittedHist.RecordValue(us)
	}
}

// reset empties st for the next span, keeping its histograms' memory.
func (st *RequestStats) reset() {
	name, lat, svc := st.Name, st.LatencyHist, st.ServiceHist
	statuses := st.Statuses
	clear(statuses)
	lat.Reset()
	svc.Reset()
	*st = RequestStats{Name: name, Statuses: statuses, LatencyHist: lat, ServiceHist: svc}
}

// errNoHistogram is returned by a merge of figures that carry no histogram.
var errNoHistogram = errors.New("no histogram: percentiles cannot be merged exactly")

// decodeHists fills the live histograms of st from their encodings where they are missing.
func (st *RequestStats) decodeHists() error {
	for _, h := range []struct {
		hist **hdrhistogram.Histogram
		enc  string
		what string
	}{
		{&st.LatencyHist, st.LatencyHDR, "latency"},
		{&st.ServiceHist, st.ServiceHDR, "service time"},
		{&st.AdmittedHist, st.AdmittedHDR, "admitted latency"},
	} {
		if *h.hist != nil || h.enc == "" {
			continue
		}
		var err error
		if *h.hist, err = DecodeHistogram(h.enc); err != nil {
			return fmt.Errorf("%s histogram of %q: %w", h.what, st.Name, err)
		}
	}
	if st.Count > st.Skipped && st.LatencyHist == nil && st.Latency.Max > 0 {
		return fmt.Errorf("latency of %q: %w", st.Name, errNoHistogram)
	}
	return nil
}

// add adds the counts and histograms of src to st: counts are summed and histograms
// merged, so st's percentiles are those of every sample of both. Summaries and rates are
// not touched: finish computes them. src is not modified.
func (st *RequestStats) add(src *RequestStats) error { return st.addWith(src, nil) }

// statsAcc holds the encoded histograms a merge added to a RequestStats until flush.
type statsAcc struct {
	cache         *hdrCache
	lat, svc, adm histAcc
}

// addWith is add; with acc, src's encoded histograms (it has no live ones) are summed in
// acc and reach st's histograms at acc.flush, else they are added at once (AddEncoded).
func (st *RequestStats) addWith(src *RequestStats, acc *statsAcc) error {
	if st.Transport == "" {
		st.Transport = src.Transport
	}
	if src.Count > src.Skipped && src.LatencyHist == nil && src.LatencyHDR == "" && src.Latency.Max > 0 {
		return fmt.Errorf("latency of %q: %w", src.Name, errNoHistogram)
	}
	if err := st.decodeHists(); err != nil {
		return err
	}
	if st.LatencyHist == nil {
		st.LatencyHist, st.ServiceHist = NewHistogram(), NewHistogram()
	}
	if st.ServiceHist == nil {
		st.ServiceHist = NewHistogram()
	}
	// The admitted latency is the latency of every sample but the sheds: a side without
	// sheds contributes its whole latency. Merged before the latency itself changes.
	var lat, svc, adm *histAcc
	var cache *hdrCache
	if acc != nil {
		lat, svc, adm, cache = &acc.lat, &acc.svc, &acc.adm, acc.cache
	}
	srcAdmitted := src.AdmittedHist != nil || src.AdmittedHDR != ""
	if st.AdmittedHist != nil || srcAdmitted {
		if st.AdmittedHist == nil {
			if err := acc.flush(st); err != nil {
				return err
			}
			st.AdmittedHist = st.LatencyHist.Clone()
		}
		h, enc := src.LatencyHist, src.LatencyHDR
		if srcAdmitted {
			h, enc = src.AdmittedHist, src.AdmittedHDR
		}
		if err := mergeHist(st.AdmittedHist, h, enc, adm, cache); err != nil {
			return fmt.Errorf("admitted latency histogram of %q: %w", src.Name, err)
		}
	}
	if err := mergeHist(st.LatencyHist, src.LatencyHist, src.LatencyHDR, lat, cache); err != nil {
		return fmt.Errorf("latency histogram of %q: %w", src.Name, err)
	}
	if err := mergeHist(st.ServiceHist, src.ServiceHist, src.ServiceHDR, svc, cache); err != nil {
		return fmt.Errorf("service time histogram of %q: %w", src.Name, err)
	}
	st.Count += src.Count
	st.Errors += src.Errors
	st.Checks += src.Checks
	st.CheckFailures += src.CheckFailures
	st.Skipped += src.Skipped
	st.Shed += src.Shed
	st.Good += src.Good
	if st.Statuses == nil {
		st.Statuses = map[string]uint64{}
	}
	for k, v := range src.Statuses {
		st.Statuses[k] += v
	}
	return nil
}

// flush adds what acc summed to st's histograms; acc is empty after. A nil acc has none.
func (acc *statsAcc) flush(st *RequestStats) error {
	if acc == nil {
		return nil
	}
	for _, x := range []struct {
		h    **hdrhistogram.Histogram
		a    *histAcc
		what string
	}{{&st.LatencyHist, &acc.lat, "latency"}, {&st.ServiceHist, &acc.svc, "service time"}, {&st.AdmittedHist, &acc.adm, "admitted latency"}} {
		if x.a.empty() && x.a.err == nil {
			continue
		}
		var err error
		if *x.h, err = x.a.into(*x.h); err != nil {
			return fmt.Errorf("%s histogram of %q: %w", x.what, st.Name, err)
		}
	}
	return nil
}

// mergeHist adds a histogram to dst: h when live, else its encoding enc (none: nothing),
// into a (summed until statsAcc.flush) when a is set.
func mergeHist(dst, h *hdrhistogram.Histogram, enc string, a *histAcc, c *hdrCache) error {
	switch {
	case h != nil:
		dst.Merge(h)
	case enc == "":
	case a != nil:
		a.addEncoded(c, enc)
	default:
		return AddEncoded(dst, enc)
	}
	return nil
}

// snapshot returns a copy of st with its summaries and rate over secs. With encode, the
// copy shares st's histograms and carries their encodings (st must not change after);
// without, it carries copies of the histograms and no encodings (a live view).
func (st *RequestStats) snapshot(secs float64, encode bool) *RequestStats {
	c := *st
	c.Statuses = maps.Clone(st.Statuses)
	if c.Statuses == nil {
		c.Statuses = map[string]uint64{}
	}
	c.Timeline = nil
	if !encode {
		c.LatencyHist, c.ServiceHist, c.AdmittedHist = cloneHist(st.LatencyHist), cloneHist(st.ServiceHist), cloneHist(st.AdmittedHist)
		c.LatencyHDR, c.ServiceHDR, c.AdmittedHDR = "", "", ""
	} else {
		c.LatencyHDR, c.ServiceHDR, c.AdmittedHDR = encodeOrEmpty(st.LatencyHist), encodeOrEmpty(st.ServiceHist), encodeOrEmpty(st.AdmittedHist)
	}
	c.summarize(secs)
	return &c
}

// summarize sets the summaries from the histograms and the rate over secs.
func (st *RequestStats) summarize(secs float64) {
	st.Latency, st.ServiceTime = Summarize(st.LatencyHist), Summarize(st.ServiceHist)
	st.Admitted = nil
	if st.AdmittedHist != nil {
		a := Summarize(st.AdmittedHist)
		st.Admitted = &a
	}
	st.Rate = 0
	if secs > 0 {
		st.Rate = float64(st.Count) / secs
	}
}

func cloneHist(h *hdrhistogram.Histogram) *hdrhistogram.Histogram {
	if h == nil {
		return nil
	}
	return h.Clone()
}

func encodeOrEmpty(h *hdrhistogram.Histogram) string {
	if h == nil {
		return ""
	}
	return mustEncode(h)
}
