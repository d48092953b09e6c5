package httpapi

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

// Fault is a runtime HTTP fault on one route (and optionally one method).
type Fault struct {
	ID          string   `json:"id"`
	Route       string   `json:"route"`            // path of a route pattern, e.g. /v1/courses/{course}/enrollments
	Method      string   `json:"method,omitempty"` // empty: every method
	Delay       Duration `json:"delay,omitempty"`
	AbortStatus int      `json:"abort_status,omitempty"`
	Percent     float64  `json:"percent"`        // share of matching requests, (0, 100]
	Kind        string   `json:"kind,omitempty"` // "" (delay/abort) or "drop-write"
}

// KindDropWrite answers 201 to an enrollment without storing it. It exists
// to prove that the harness detects lost writes, and is refused unless the
// server allows unsafe faults.
const KindDropWrite = "drop-write"

// enrollRoute is the only route drop-write applies to.
const enrollRoute = "/v1/courses/{course}/enrollments"

// Duration is a time.Duration written as a Go duration string ("50ms").
type Duration time.Duration

// MarshalJSON writes "50ms".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "50ms" or a number of milliseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var ms float64
		if err := json.Unmarshal(b, &ms); err != nil {
			return fmt.Errorf("duration must be a string such as \"50ms\"")
		}
		*d = Duration(ms * float64(time.Millisecond))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration must be a string such as \"50ms\"")
	}
	*d = Duration(v)
	return nil
}

// faults holds the active faults; reads are lock-free.
type faults struct {
	mu     sync.Mutex // serialises writers
	active atomic.Pointer[[]Fault]
	next   atomic.Int64
}

func (f *faults) list() []Fault {
	if p := f.active.Load(); p != nil {
		return *p
	}
	return nil
}

func (f *faults) add(x Fault) Fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	x.ID = fmt.Sprintf("f%d", f.next.Add(1))
	list := append(append([]Fault(nil), f.list()...), x)
	f.active.Store(&list)
	return x
}

func (f *faults) remove(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	var kept []Fault
	found := false
	for _, x := range f.list() {
		if x.ID == id {
			found = true
			continue
		}
		kept = append(kept, x)
	}
	f.active.Store(&kept)
	return found
}

func (f *faults) clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.active.Store(nil)
}

// match returns the faults that fire for this request (each decided by
// its percent).
func (f *faults) match(route, method string) (delay time.Duration, abort int, drop bool) {
	for _, x := range f.list() {
		if x.Route != route || (x.Method != "" && x.Method != method) {
			continue
		}
		if rand.Float64()*100 >= x.Percent {
			continue
		}
		if x.Kind == KindDropWrite {
			drop = true
			continue
		}
		delay += time.Duration(x.Delay)
		if abort == 0 {
			abort = x.AbortStatus
		}
	}
	return delay, abort, drop
}

// validate checks a fault against the known routes.
func validateFault(x *Fault, routes map[string]bool, allowUnsafe bool) error {
	switch x.Route {
	case "/healthz", "/readyz", "/metrics":
		return academy.Invalid("route", "%s is an operations route: probes and metrics take no faults", x.Route)
	}
	if !routes[x.Route] {
		return academy.Invalid("route", "unknown route %q; use the path of a route pattern, e.g. %s", x.Route, enrollRoute)
	}
	x.Method = strings.ToUpper(x.Method)
	switch x.Method {
	case "", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD":
	default:
		return academy.Invalid("method", "unknown method %q", x.Method)
	}
	if x.Percent == 0 {
		x.Percent = 100
	}
	if x.Percent < 0 || x.Percent > 100 {
		return academy.Invalid("percent", "must be in (0, 100]")
	}
	if x.Delay < 0 || time.Duration(x.Delay) > time.Minute {
		return academy.Invalid("delay", "must be between 0 and 1m")
	}
	if x.AbortStatus != 0 && (x.AbortStatus < 200 || x.AbortStatus > 599) {
		return academy.Invalid("abort_status", "must be an HTTP status between 200 and 599")
	}
	switch x.Kind {
	case "":
		if x.Delay == 0 && x.AbortStatus == 0 {
			return academy.Invalid("", "a fault needs a delay, an abort_status or a kind")
		}
	case KindDropWrite:
		if !allowUnsafe {
			return &academy.Error{Kind: academy.KindForbidden, Code: "unsafe_faults_disabled", Field: "kind",
				Message: "drop-write loses acknowledged writes; start the server with --allow-unsafe-faults to use it"}
		}
		if x.Route != enrollRoute || (x.Method != "" && x.Method != "POST") {
			return academy.Invalid("route", "drop-write applies to POST %s only", enrollRoute)
		}
		x.Method = "POST"
	default:
		return academy.Invalid("kind", "unknown fault kind %q (known: drop-write)", x.Kind)
	}
	return nil
}
