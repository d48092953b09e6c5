package loadgen

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// recordWrite records a marked request's outcome; status is 0 when no response came.
func (e *engine) recordWrite(r *scenarios.Request, req *http.Request, sentAt time.Duration, status int) {
	if r.Write == "" && r.Read == "" || e.opts.Writes == nil {
		return
	}
	e.recordWriteOf(r, req.Header.Get(scenarios.IdempotencyHeader), req.Header.Get("Authorization"), req.URL.Path, sentAt, status)
}

// recordWriteOf records a marked request's outcome (a write's, or a read-back's) from its
// idempotency key, Authorization header and path, its answer having just come.
func (e *engine) recordWriteOf(r *scenarios.Request, key, auth, path string, sentAt time.Duration, status int) {
	if r.Write == "" && r.Read == "" || e.opts.Writes == nil {
		return
	}
	w := result.Write{
		Kind:    r.Write,
		Key:     key,
		Subject: bearerSubject(auth),
		Path:    path,
		Status:  status,
		Outcome: result.OutcomeOf(status),
		At:      sentAt,
		Done:    time.Since(e.start),
	}
	if r.Read != "" {
		w.Kind, w.Read = r.Read, true
	}
	e.opts.Writes.Add(w)
}

// bearerSubject returns the "sub" claim of a JWT bearer token without verifying it (the
// generator only needs to know whose write it sent), or "".
func bearerSubject(auth string) string {
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return ""
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var c struct {
		Sub string `json:"sub"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	return c.Sub
}
