package httpapi

import (
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

// recoverer turns a panic into a logged 500 JSON error.
func recoverer(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					log.ErrorContext(r.Context(), "panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
					writeErrorCode(w, http.StatusInternalServerError, "internal", "internal error")
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// securityHeaders sets the security headers of every response (HSTS only
// over TLS).
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		}
		next.ServeHTTP(w, r)
	})
}

// jsonNotFound answers JSON 404 and 405 for requests no route matches.
func (s *server) jsonNotFound(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		rec := &headerRecorder{header: http.Header{}}
		mux.ServeHTTP(rec, r) // learn 404 vs 405 (and Allow)
		s.m.requests.WithLabelValues("unmatched", r.Method, strconv.Itoa(rec.status)).Inc()
		if allow := rec.header.Get("Allow"); allow != "" {
			w.Header().Set("Allow", allow)
		}
		if rec.status == http.StatusMethodNotAllowed {
			writeErrorCode(w, rec.status, "method_not_allowed", "method not allowed")
			return
		}
		if rec.status >= 300 && rec.status < 400 { // ServeMux path cleaning redirects
			w.Header().Set("Location", rec.header.Get("Location"))
			w.WriteHeader(rec.status)
			return
		}
		writeErrorCode(w, http.StatusNotFound, "not_found", "no such route")
	})
}

type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header         { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (h *headerRecorder) WriteHeader(code int)        { h.status = code }

// statusWriter records the status; Unwrap lets http.ResponseController and
// the WebSocket upgrade reach the underlying writer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush supports streaming handlers.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// instrument records requests, durations and in-flight requests by route
// pattern, and logs each request at debug level.
func (s *server) instrument(pattern, method string, next http.Handler) http.Handler {
	inflight := s.m.inflight.WithLabelValues(pattern)
	duration := s.m.duration.WithLabelValues(pattern, method)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		inflight.Inc()
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			inflight.Dec()
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			d := time.Since(start)
			duration.Observe(d.Seconds())
			s.m.requests.WithLabelValues(pattern, method, strconv.Itoa(sw.status)).Inc()
			if s.log.Enabled(r.Context(), slog.LevelDebug) {
				s.log.DebugContext(r.Context(), "request", "method", r.Method, "route", pattern, "status", sw.status, "duration", d)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// admit bounds concurrent requests; beyond the bound a request waits up to
// AdmissionWait for a slot, then gets 503 with Retry-After.
func (s *server) admit(next http.Handler) http.Handler {
	if s.slots == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.slots <- struct{}{}:
		default:
			t := time.NewTimer(s.opts.AdmissionWait)
			select {
			case s.slots <- struct{}{}:
				t.Stop()
			case <-t.C:
				s.m.shed.WithLabelValues(shedInflight).Inc()
				w.Header().Set("Retry-After", "1")
				writeErrorCode(w, http.StatusServiceUnavailable, "overloaded", "server is at capacity; retry later")
				return
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		defer func() { <-s.slots }()
		next.ServeHTTP(w, r)
	})
}

// limitIP rate-limits by client IP (the connection's remote address).
func (s *server) limitIP(next http.Handler) http.Handler {
	if s.ipLim == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ok, wait := s.ipLim.allow(clientIP(r), time.Now()); !ok {
			s.m.limited.WithLabelValues("ip").Inc()
			tooMany(w, wait)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// clientIP is the IP of the connection's remote address.
func clientIP(r *http.Request) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return ip
}

// limitUser rate-limits an authenticated caller.
func (s *server) limitUser(w http.ResponseWriter, p academy.Principal) error {
	if s.userLim == nil || !p.Authenticated() || p.UserID == [16]byte{} {
		return nil
	}
	if ok, wait := s.userLim.allow(p.UserID.String(), time.Now()); !ok {
		s.m.limited.WithLabelValues("user").Inc()
		setRetryAfter(w, wait)
		return &academy.Error{Kind: academy.KindInvalid, Code: "rate_limited", Message: "too many requests for this user; retry later"}
	}
	return nil
}

// setRetryAfter sets Retry-After to wait in whole seconds, at least one.
func setRetryAfter(w http.ResponseWriter, wait time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(max(wait, time.Second).Seconds()))))
}

func tooMany(w http.ResponseWriter, wait time.Duration) {
	setRetryAfter(w, wait)
	writeErrorCode(w, http.StatusTooManyRequests, "rate_limited", "too many requests; retry later")
}

// bodyLimit bounds request bodies.
func (s *server) bodyLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.opts.MaxBodyBytes {
			writeErrorCode(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("request body exceeds %d bytes", s.opts.MaxBodyBytes))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

type dropKey struct{}

// injectFaults applies the active faults of route: delay, then abort. A
// drop-write fault is passed on to the handler in the request context.
func (s *server) injectFaults(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		delay, abort, drop := s.faults.match(route, r.Method)
		if delay > 0 {
			s.m.faults.WithLabelValues("delay").Inc()
			t := time.NewTimer(delay)
			select {
			case <-t.C:
			case <-r.Context().Done():
				t.Stop()
				return
			}
		}
		if abort != 0 {
			s.m.faults.WithLabelValues("abort").Inc()
			if abort == http.StatusServiceUnavailable || abort == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", "1")
			}
			writeErrorCode(w, abort, "injected_fault", "fault injected by /admin/faults")
			return
		}
		if drop {
			r = r.WithContext(contextWithDrop(r))
		}
		next.ServeHTTP(w, r)
	})
}
