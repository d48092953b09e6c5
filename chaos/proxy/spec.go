package proxy

import (
	"errors"
	"fmt"
	"math"
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

// The toxic kinds NewToxic understands.
const (
	KindLatency   = "latency"
	KindBandwidth = "bandwidth"
	KindSlowClose = "slow-close"
	KindTimeout   = "timeout"
	KindReset     = "reset"
	KindLimitData = "limit-data"
	KindDown      = "down"
)

// Kinds returns the toxic kinds in a stable order.
func Kinds() []string {
	return []string{KindLatency, KindBandwidth, KindSlowClose, KindTimeout, KindReset, KindLimitData, KindDown}
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

// kindParams lists the parameter fields a kind accepts; ok is false for an unknown kind.
func kindParams(kind string) (names []string, ok bool) {
	switch kind {
	case KindLatency:
		return []string{"latency", "jitter"}, true
	case KindBandwidth:
		return []string{"rate"}, true
	case KindSlowClose:
		return []string{"delay"}, true
	case KindTimeout, KindReset:
		return []string{"timeout"}, true
	case KindLimitData:
		return []string{"bytes"}, true
	case KindDown:
		return nil, true
	}
	return nil, false
}

// Validate checks the spec and reports every problem at once.
func (s ToxicSpec) Validate() error {
	var errs []error
	add := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf(format, args...))
	}
	allowed, known := kindParams(s.Kind)
	if !known {
		if s.Kind == "" {
			add("toxic kind is missing (want one of %s)", strings.Join(Kinds(), ", "))
		} else {
			add("unknown toxic kind %q (want one of %s)", s.Kind, strings.Join(Kinds(), ", "))
		}
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

	set := map[string]bool{
		"latency": s.Latency != 0,
		"jitter":  s.Jitter != 0,
		"rate":    s.Rate != 0,
		"bytes":   s.Bytes != 0,
		"timeout": s.Timeout != 0,
		"delay":   s.Delay != 0,
	}
	if known {
		for _, p := range []string{"latency", "jitter", "rate", "bytes", "timeout", "delay"} {
			if set[p] && !contains(allowed, p) {
				if len(allowed) == 0 {
					add("%s: not a parameter of %s, which takes none", p, s.Kind)
				} else {
					add("%s: not a parameter of %s (it takes %s)", p, s.Kind, strings.Join(allowed, ", "))
				}
			}
		}
	}
	if s.Latency < 0 {
		add("latency %v: must not be negative", s.Latency)
	}
	if s.Jitter < 0 {
		add("jitter %v: must not be negative", s.Jitter)
	}
	if s.Kind == KindLatency && s.Latency == 0 && s.Jitter == 0 {
		add("latency: a latency toxic needs latency or jitter above zero")
	}
	if s.Rate < 0 || (s.Kind == KindBandwidth && s.Rate == 0) {
		add("rate %d: must be above zero bytes per second", s.Rate)
	}
	if s.Bytes < 0 {
		add("bytes %d: must not be negative", s.Bytes)
	}
	if s.Timeout < 0 {
		add("timeout %v: must not be negative", s.Timeout)
	}
	if s.Delay < 0 || (s.Kind == KindSlowClose && s.Delay == 0) {
		add("delay %v: must be above zero", s.Delay)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("invalid %s toxic: %w", kindOrToxic(s.Kind), errors.Join(errs...))
}

func kindOrToxic(kind string) string {
	if _, ok := kindParams(kind); ok {
		return kind
	}
	return "unknown"
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// NewToxic validates spec and builds the toxic it describes.
func NewToxic(spec ToxicSpec) (Toxic, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	switch spec.Kind {
	case KindLatency:
		return &Latency{Latency: spec.Latency, Jitter: spec.Jitter}, nil
	case KindBandwidth:
		return &Bandwidth{Rate: spec.Rate}, nil
	case KindSlowClose:
		return &SlowClose{Delay: spec.Delay}, nil
	case KindTimeout:
		return &Timeout{Timeout: spec.Timeout}, nil
	case KindReset:
		return &Reset{Timeout: spec.Timeout}, nil
	case KindLimitData:
		return &LimitData{Bytes: spec.Bytes}, nil
	case KindDown:
		return &Down{}, nil
	}
	// Unreachable: Validate rejects unknown kinds.
	return nil, fmt.Errorf("unknown toxic kind %q", spec.Kind)
}
