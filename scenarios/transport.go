package scenarios

import (
	"fmt"
	"net/http"
	"strings"
)

// The values of transport: (Spec.Transport), the engine's choice of HTTP client.
const (
	// TransportAuto sends each request with the fast client where it can serve it, with
	// net/http otherwise (the default; Spec.Transport "" reads as auto).
	TransportAuto = "auto"
	// TransportNetHTTP sends every request with Go's net/http client.
	TransportNetHTTP = "nethttp"
	// TransportFast sends every request with the fast HTTP/1.1 client (fasthttp); a scenario
	// with a request it cannot serve is invalid.
	TransportFast = "fast"
)

// Transports lists the values of transport:.
func Transports() []string { return []string{TransportAuto, TransportNetHTTP, TransportFast} }

// FastUnsupported says why the fast HTTP/1.1 client cannot send r ("" when it can): the
// request kinds (page, video, websocket) are journeys of several requests or an upgraded
// connection that the engine runs on net/http, and CONNECT opens a tunnel.
// Whether a URL's scheme asks for HTTP/2 is the engine's to judge, with the target known.
func (r *Request) FastUnsupported() string {
	switch {
	case r == nil:
		return ""
	case r.Kind != "":
		return "a " + r.Kind + " request"
	case r.Method == http.MethodConnect:
		return "a CONNECT request"
	}
	return ""
}

// WithTransport returns a copy of s whose transport is t (one of Transports; the
// --transport flag), or the problems that make t impossible for s, each with the place of
// the request in s's file, as LoadFile reports them. s is not modified.
func (s *Spec) WithTransport(t string) (*Spec, error) {
	if !contains(Transports(), t) {
		return nil, fmt.Errorf("unknown transport %q, want one of %s%s", t, strings.Join(Transports(), ", "), didYouMean(t, Transports()))
	}
	if t == TransportAuto {
		t = ""
	}
	if errs := s.transportErrors(t, s.Path); len(errs) > 0 {
		return nil, errs
	}
	out := *s
	out.Transport = t
	return &out, nil
}

// transportErrors are the requests transport t cannot send, for the file named file.
func (s *Spec) transportErrors(t, file string) Errors {
	if t != TransportFast {
		return nil
	}
	var errs Errors
	check := func(r *Request, path string) {
		why := r.FastUnsupported()
		if why == "" {
			return
		}
		field := join(path, "kind")
		if r.Kind == "" {
			field = join(path, "method")
		}
		errs = append(errs, &Error{File: file, Line: r.slowPos.Line, Column: r.slowPos.Column, Field: field,
			Msg: fmt.Sprintf("transport fast cannot send %s (it speaks plain HTTP/1.1); use transport auto, which sends it with net/http, or nethttp", why)})
	}
	for i, it := range s.Workload {
		if it == nil {
			continue
		}
		if it.Request != nil {
			check(it.Request, index("workload", i)+".request")
		}
		for j, st := range it.Flow {
			if st != nil && st.Request != nil {
				check(st.Request, index(index("workload", i)+".flow", j)+".request")
			}
		}
	}
	errs.sort()
	return errs
}
