package httpapi

import (
	"net/http"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

// ReadAfterCookie carries a client's academy.ReadAfter token between requests: the WAL
// positions its writes reached, so that its reads, on whichever academy replica, go only
// to database replicas that have replayed them (read-your-writes).
const ReadAfterCookie = "academy_read_after"

// readYourWrites puts the request's academy.ReadAfter (from its cookie, or a new one) in
// the request's context and, when a write advanced it, sets the cookie on the response
// before its header is written.
func readYourWrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ra *academy.ReadAfter
		if c, err := r.Cookie(ReadAfterCookie); err == nil {
			ra = academy.ParseReadAfter(c.Value)
		} else {
			ra = academy.ParseReadAfter("")
		}
		rw := &readAfterWriter{ResponseWriter: w, ra: ra, secure: r.TLS != nil}
		next.ServeHTTP(rw, r.WithContext(academy.WithReadAfter(r.Context(), ra)))
	})
}

type readAfterWriter struct {
	http.ResponseWriter
	ra      *academy.ReadAfter
	secure  bool
	written bool
}

func (w *readAfterWriter) WriteHeader(code int) {
	if !w.written {
		w.written = true
		if w.ra.Changed() {
			http.SetCookie(w.ResponseWriter, &http.Cookie{Name: ReadAfterCookie, Value: w.ra.Token(), Path: "/",
				HttpOnly: true, Secure: w.secure, SameSite: http.SameSiteLaxMode})
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *readAfterWriter) Write(b []byte) (int, error) {
	if !w.written {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer (flush, hijack for
// WebSockets, deadlines).
func (w *readAfterWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush supports streaming handlers.
func (w *readAfterWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
