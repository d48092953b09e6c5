package cluster

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/trendtactics/loadlab/result"
)

// The channel: a worker opens one HTTP/2 stream, POST JoinPath, whose request body carries
// its messages, a CBOR sequence (RFC 8742: its interval records are most of the
// coordinator's work, and CBOR decodes about three times faster than JSON), and whose
// response body carries the coordinator's, each a JSON object on one line. The request's
// headers authenticate it (Authorization: Bearer TOKEN) and name its version, scenario
// hash and index; a refusal is a plain HTTP error whose body names the cause.
const (
	// JoinPath is the coordinator's one endpoint; v1 is the version of the messages.
	JoinPath = "/v1/join"

	headerVersion = "Loadgen-Version"
	headerHash    = "Loadgen-Scenario-Hash"
	headerIndex   = "Loadgen-Worker-Index"

	// workerContentType is the type of the worker's stream: CBOR items, one a message.
	workerContentType = "application/cbor-seq"
)

// Timing of the channel (documented in doc.go).
const (
	// Heartbeat is how often each side sends a message when it has nothing else to say.
	Heartbeat = 500 * time.Millisecond
	// WorkerSilence is how long a worker may be silent before the coordinator marks it lost.
	WorkerSilence = 3 * time.Second
	// CoordinatorSilence is how long a worker hears nothing from its coordinator before it
	// stops its load: with the engine's own stop, it sends nothing 2 s after the loss.
	CoordinatorSilence = 1500 * time.Millisecond
	// DefaultMaxClockUncertainty bounds the uncertainty of a worker's clock offset: beyond
	// it the run is invalid (its intended times are not known to that precision).
	DefaultMaxClockUncertainty = 10 * time.Millisecond
	// DefaultStartDelay is the time from the barrier to the load's start: time for the
	// start message to arrive and the workers to build their engines.
	DefaultStartDelay = 500 * time.Millisecond
	// BrowserStartDelay is the least time from the barrier to the start of a scenario with
	// browser requests: each worker starts headless Chromium and opens its pool of browser
	// contexts before its load starts (some seconds on a busy machine).
	BrowserStartDelay = 10 * time.Second
	// clockRounds is the number of clock round trips per worker.
	clockRounds = 5
)

// Message types.
const (
	msgWelcome   = "welcome"   // coordinator: your index, the scenario
	msgPing      = "ping"      // worker: T0
	msgPong      = "pong"      // coordinator: T0, T1, T2
	msgClock     = "clock"     // worker: the offset estimated from the round trips
	msgStart     = "start"     // coordinator: the start time and the run's parameters
	msgStop      = "stop"      // coordinator: stop the load (abort, interrupt, lost)
	msgHeartbeat = "heartbeat" // either side
	msgInterval  = "interval"  // worker: one second's interval record (a result.Result)
	msgDone      = "done"      // worker: the load is over; its health, writes, ...
	msgBye       = "bye"       // coordinator: done received; close the stream
	msgError     = "error"     // worker: it cannot run the scenario (Reason); it leaves
	msgResults   = "results"   // worker: the next bytes of its per-request results (vegeta's format)
)

// message is one line of the stream; Type says which fields are set.
type message struct {
	Type    string       `json:"type"`
	Welcome *welcome     `json:"welcome,omitempty"`
	T0      time.Time    `json:"t0,omitzero"`
	T1      time.Time    `json:"t1,omitzero"`
	T2      time.Time    `json:"t2,omitzero"`
	Clock   *clockReport `json:"clock,omitempty"`
	Start   *startParams `json:"start,omitempty"`
	Reason  string       `json:"reason,omitempty"`
	// Phase is a stop's: the start it stops (startParams.Phase), or 0 before the start of
	// the phase to come (the worker then gives up).
	Phase int `json:"phase,omitempty"`
	// Interval is an interval record with its histograms encoded (the *_hdr fields), not
	// live: result.Merge adds them to the run's from their encodings.
	Interval *result.Result `json:"interval,omitempty"`
	Final    *final         `json:"final,omitempty"`
	// Metrics is a worker's live metrics with its interval (metrics.go), when the
	// coordinator serves them (startParams.Metrics).
	Metrics []snapFamily `json:"metrics,omitempty"`
	// Writes are the writes a worker recorded since its previous interval (its write log,
	// streamed so that the coordinator holds it up to a loss).
	Writes []result.Write `json:"writes,omitempty"`
	// Results are the next bytes of the worker's per-request results file, a vegeta gob
	// stream of its own (startParams.Results).
	Results []byte `json:"results,omitempty"`
}

type welcome struct {
	Index     int     `json:"index"`
	Count     int     `json:"count"`
	Path      string  `json:"path"`
	Scenario  []byte  `json:"scenario"` // the coordinator's scenario file, for a worker without one
	TimeScale float64 `json:"time_scale"`
}

type clockReport struct {
	Offset      time.Duration `json:"offset_ns"`
	Uncertainty time.Duration `json:"uncertainty_ns"`
}

// startParams are the run's parameters, as the coordinator's pipeline set them.
type startParams struct {
	At          time.Time       `json:"at"` // the coordinator's clock
	BaseURL     string          `json:"base_url"`
	Seed        int64           `json:"seed"`
	MaxLateness time.Duration   `json:"max_lateness_ns"`
	Transport   string          `json:"transport,omitempty"`
	CACerts     []byte          `json:"ca_certs,omitempty"` // PEM, trusted for the target (a lab's CA)
	Windows     []result.Window `json:"windows,omitempty"`
	Writes      bool            `json:"writes"`            // record the write log for the verification
	Metrics     bool            `json:"metrics,omitempty"` // send live metrics with each interval
	// Results: stream every request's result (vegeta's format) in msgResults messages.
	Results bool `json:"results,omitempty"`
	// From is the first global iteration a rejoining worker may fire: it resumes at the
	// current iteration, with its stripe's share of the schedule from there.
	From uint64 `json:"from,omitempty"`
	// Phase counts the starts of the run from 1: with a capacity: block, 1 starts the
	// capacity ramp (Ramp: loadgen.CapacityRampSpec of the scenario) and 2 the load, its
	// relative rates resolved with CapacityRPS (Spec.WithCapacity).
	Phase       int     `json:"phase"`
	Ramp        bool    `json:"ramp,omitempty"`
	CapacityRPS float64 `json:"capacity_rps,omitempty"`
}

// toWire makes an interval record ready for the stream: its histograms encoded, and what
// the coordinator's merge does not need left out (it sums the counts and histograms, and
// derives every summary and rate from the sums): the summaries and rates (omitted from the
// CBOR when zero), empty latency and service time histograms (a window without requests
// that second; adding one adds nothing), and the run's timeline, a copy of the total's
// (fromWire puts it back). A third fewer bytes, and fewer fields to decode.
func toWire(iv *result.Result) error {
	for _, st := range result.AllStats(iv) {
		st.Rate, st.Latency, st.ServiceTime, st.Admitted = 0, result.Summary{}, result.Summary{}, nil
		if st.LatencyHist != nil && st.LatencyHist.TotalCount() == 0 {
			st.LatencyHist = nil
		}
		if st.ServiceHist != nil && st.ServiceHist.TotalCount() == 0 {
			st.ServiceHist = nil
		}
	}
	iv.Timeline = nil
	return result.EncodeHistograms(iv)
}

// fromWire restores what toWire left out and the merge reads: the run's timeline.
func fromWire(iv *result.Result) {
	if iv.Total != nil {
		iv.Timeline = iv.Total.Timeline
	}
}

// final is what a worker sends once its load is over.
type final struct {
	Health        result.Health          `json:"health"`
	Writes        []result.Write         `json:"writes,omitempty"` // since its last interval
	WritesDropped uint64                 `json:"writes_dropped,omitempty"`
	WebSocket     *result.WebSocketStats `json:"websocket,omitempty"`
	Uptime        *result.UptimeStats    `json:"uptime,omitempty"`
	Browser       *result.BrowserStats   `json:"browser,omitempty"`
	Transports    map[string]string      `json:"transports,omitempty"`
	Metrics       []snapFamily           `json:"metrics,omitempty"` // its live metrics at the end
}

// ScenarioHash is the hash a worker and its coordinator compare: SHA-256 of the scenario
// file's bytes, hex.
func ScenarioHash(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// RefusedError is a join the coordinator refused; Cause names why.
type RefusedError struct {
	Status int
	Cause  string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("the coordinator refused this worker: %s", e.Cause)
}

// errStreamClosed: the stream was closed by this side.
var errStreamClosed = errors.New("stream closed")

// The worker's stream in CBOR: struct fields named by their json tags, times as RFC 3339
// with nanoseconds (exact), floats in their shortest exact form.
var (
	cborEnc cbor.EncMode
	cborDec cbor.DecMode
)

func init() {
	var err error
	if cborEnc, err = (cbor.EncOptions{Time: cbor.TimeRFC3339Nano, ShortestFloat: cbor.ShortestFloat16}).EncMode(); err != nil {
		panic(err) // constant options
	}
	// A final message carries the write log: up to result.DefaultMaxWrites items.
	if cborDec, err = (cbor.DecOptions{MaxArrayElements: 4 * result.DefaultMaxWrites}).DecMode(); err != nil {
		panic(err)
	}
}

// encoder writes one message.
type encoder interface{ Encode(v any) error }

// sender writes messages to one direction of a stream. Safe for concurrent use.
type sender struct {
	mu     sync.Mutex
	enc    encoder
	flush  func()
	open   bool // sends fail until open is called
	closed bool
}

// newSender returns the coordinator's sender (JSON lines) on w.
func newSender(w io.Writer) *sender { return newSenderWith(w, json.NewEncoder(w)) }

// newWorkerSender returns the worker's sender (a CBOR sequence) on w.
func newWorkerSender(w io.Writer) *sender { return newSenderWith(w, cborEnc.NewEncoder(w)) }

func newSenderWith(w io.Writer, enc encoder) *sender {
	s := &sender{enc: enc}
	if f, ok := w.(http.Flusher); ok {
		s.flush = f.Flush
	}
	return s
}

func (s *sender) send(m *message) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.open || s.closed {
		return errStreamClosed
	}
	if err := s.enc.Encode(m); err != nil {
		return err
	}
	if s.flush != nil {
		s.flush()
	}
	return nil
}

// start lets sends through (once the stream's headers are written).
func (s *sender) start() {
	s.mu.Lock()
	s.open = true
	s.mu.Unlock()
}

// close makes every later send fail; it does not close the writer.
func (s *sender) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}
