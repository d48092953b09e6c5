package proxy

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Direction says which half of a proxied connection a toxic acts on.
type Direction string

// The directions of a connection. The zero value means Downstream, as in toxiproxy.
const (
	// Upstream is the data the client sends to the server.
	Upstream Direction = "upstream"
	// Downstream is the data the server sends back to the client.
	Downstream Direction = "downstream"
	// Both applies the toxic to each direction independently.
	Both Direction = "both"
)

// covers reports whether a toxic declared for d acts on the one-way stream dir.
func (d Direction) covers(dir Direction) bool {
	return d == Both || d == dir
}

// ToxicSpec describes one toxic: what it does, to which direction and to which share of
// connections. It is the form in which the chaos timeline and tests hand faults to a Proxy.
type ToxicSpec struct {
	// Name identifies the toxic on its proxy. Empty means AddToxic picks one (kind-N).
	Name string
	// Kind is one of the Kind* constants.
	Kind string
	// Direction is Upstream, Downstream or Both; empty means Downstream.
	// Down ignores it: it acts on whole connections.
	Direction Direction
	// Toxicity is the share of connections, 0 < Toxicity <= 1, the toxic applies to.
	// Zero means 1 (every connection), as a toxic that touches no connection is pointless.
	Toxicity float64

	// Latency is added to every chunk of data (latency).
	Latency time.Duration
	// Jitter widens Latency to a uniform random delay in [Latency-Jitter, Latency+Jitter] (latency).
	Jitter time.Duration
	// Rate is the throughput limit in bytes per second (bandwidth).
	Rate int64
	// Bytes is how many bytes pass before the connection is closed (limit-data).
	Bytes int64
	// Timeout is, for timeout, how long the blackholed connection lives before it is closed
	// (0 = until the toxic is removed); for reset, how long after the first blocked data
	// the connection is reset (0 = at once).
	Timeout time.Duration
	// Delay is how long the close of a finished stream is held back (slow-close).
	Delay time.Duration
}

// params reports which parameter fields of the spec are set, in a fixed order.
func (s ToxicSpec) params() []string {
	var set []string
	for _, p := range []struct {
		name string
		set  bool
	}{
		{"latency", s.Latency != 0},
		{"jitter", s.Jitter != 0},
		{"rate", s.Rate != 0},
		{"bytes", s.Bytes != 0},
		{"timeout", s.Timeout != 0},
		{"delay", s.Delay != 0},
	} {
		if p.set {
			set = append(set, p.name)
		}
	}
	return set
}

// Validate checks the spec and reports every problem at once.
func (s ToxicSpec) Validate() error {
	_, err := s.build()
	return err
}

// NewToxic validates spec and builds the toxic it describes.
func NewToxic(spec ToxicSpec) (Toxic, error) { return spec.build() }

// build checks the fields every kind shares, then lets the kind check its parameters and
// make the toxic. The error lists every problem.
func (s ToxicSpec) build() (Toxic, error) {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	kind, known := lookupKind(s.Kind)
	switch {
	case known:
	case s.Kind == "":
		add("toxic kind is missing (want one of %s)", strings.Join(Kinds(), ", "))
	default:
		add("unknown toxic kind %q (want one of %s)", s.Kind, strings.Join(Kinds(), ", "))
	}
	if strings.ContainsAny(s.Name, " \t\n/") {
		add("toxic name %q: must not contain spaces or slashes", s.Name)
	}
	switch s.Direction {
	case "", Upstream, Downstream, Both:
	default:
		add("direction %q: want upstream, downstream or both", s.Direction)
	}
	if math.IsNaN(s.Toxicity) || s.Toxicity < 0 || s.Toxicity > 1 {
		add("toxicity %v: must be between 0 and 1", s.Toxicity)
	}
	if !known {
		return nil, fmt.Errorf("invalid unknown toxic: %w", errors.Join(errs...))
	}
	for _, p := range s.params() {
		switch {
		case slices.Contains(kind.params, p):
		case len(kind.params) == 0:
			add("%s: not a parameter of %s, which takes none", p, s.Kind)
		default:
			add("%s: not a parameter of %s (it takes %s)", p, s.Kind, strings.Join(kind.params, ", "))
		}
	}
	t, err := kind.build(s)
	if err := errors.Join(append(errs, err)...); err != nil {
		return nil, fmt.Errorf("invalid %s toxic: %w", s.Kind, err)
	}
	return t, nil
}

// negative reports a parameter that must not be negative and is.
func negative[T ~int64](name string, v T) error {
	if v < 0 {
		return fmt.Errorf("%s %v: must not be negative", name, v)
	}
	return nil
}
