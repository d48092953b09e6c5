package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

// statusOf is the one table from domain error kinds to HTTP statuses.
var statusOf = map[academy.Kind]int{
	academy.KindInvalid:      http.StatusBadRequest,
	academy.KindUnauthorized: http.StatusUnauthorized,
	academy.KindForbidden:    http.StatusForbidden,
	academy.KindNotFound:     http.StatusNotFound,
	academy.KindConflict:     http.StatusConflict,
	academy.KindUnavailable:  http.StatusServiceUnavailable,
	academy.KindInternal:     http.StatusInternalServerError,
}

// statusOfCode overrides the table for codes with a more precise status.
var statusOfCode = map[string]int{
	"body_too_large":         http.StatusRequestEntityTooLarge,
	"rate_limited":           http.StatusTooManyRequests,
	"too_many_connections":   http.StatusTooManyRequests,
	"login_throttled":        http.StatusTooManyRequests,
	"mfa_throttled":          http.StatusTooManyRequests,
	"idempotency_key_reused": http.StatusUnprocessableEntity,
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// catalogCacheControl lets browsers and shared caches (a CDN) keep public
// catalog answers for the guide's lifetime of course data, an hour.
const catalogCacheControl = "public, max-age=3600"

// writeCacheable answers a public JSON body that any cache may keep
// (catalogCacheControl) with a strong ETag, the body's 64-bit xxHash in hex
// (the same on every replica; an ETag names a version of the bytes, it
// authenticates nothing, and SHA-256 cost about 45 µs per 20 KB page here,
// against 5 µs). http.ServeContent answers If-None-Match with 304 Not
// Modified (and HEAD and Range). No Last-Modified: a course's seat count
// changes without its updated_at, and a page has no one modification time,
// so a date could claim "not modified" of a changed body.
func writeCacheable(w http.ResponseWriter, r *http.Request, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", catalogCacheControl)
	h.Set("ETag", fmt.Sprintf(`"%016x"`, xxhash.Sum64(body)))
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// writeCacheableJSON encodes v as writeJSON does and answers it with
// writeCacheable.
func writeCacheableJSON(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode response: %w", err)
	}
	writeCacheable(w, r, append(b, '\n'))
	return nil
}

// writeError writes err as a JSON error. Internal errors are logged and
// answered with a generic message.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *academy.Error
	if !errors.As(err, &e) {
		e = &academy.Error{Kind: academy.KindInternal, Code: "internal", Message: "internal error"}
	}
	status := statusOf[e.Kind]
	if s, ok := statusOfCode[e.Code]; ok {
		status = s
	}
	detail := errorDetail{Code: e.Code, Message: e.Message, Field: e.Field}
	w.Header().Del("ETag") // an error is never cached in place of the resource
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case status >= 500:
		if errors.Is(err, academy.ErrOverloaded) { // shed: counted, and too many to log one by one
			log.DebugContext(r.Context(), "request shed", "method", r.Method, "route", r.Pattern, "err", err)
		} else {
			log.ErrorContext(r.Context(), "request failed", "method", r.Method, "route", r.Pattern, "status", status, "err", err)
		}
		if status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		} else {
			detail.Message = "internal error"
		}
	}
	writeJSON(w, status, errorBody{Error: detail})
}

// writeErrorCode writes a JSON error with an explicit status.
func writeErrorCode(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: message}})
}

// decode reads one JSON object from the body into v, strictly: unknown
// fields, trailing data, wrong types and oversized bodies are input errors.
func decode(r *http.Request, v any) error {
	// The body is parsed as JSON whatever its Content-Type claims (curl -d
	// sends application/x-www-form-urlencoded).
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return academy.Invalid("", "request body must hold a single JSON object")
		}
		return nil
	}
	var (
		maxErr   *http.MaxBytesError
		typeErr  *json.UnmarshalTypeError
		syntaxEr *json.SyntaxError
	)
	switch {
	case errors.As(err, &maxErr):
		return &academy.Error{Kind: academy.KindInvalid, Code: "body_too_large", Message: fmt.Sprintf("request body exceeds %d bytes", maxErr.Limit)}
	case errors.As(err, &typeErr):
		return academy.Invalid(typeErr.Field, "must be of type %s", typeErr.Type.String())
	case errors.As(err, &syntaxEr):
		return academy.Invalid("", "malformed JSON at byte %d", syntaxEr.Offset)
	case errors.Is(err, io.EOF):
		return academy.Invalid("", "request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return academy.Invalid("", "request body is truncated JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return academy.Invalid(field, "unknown field")
	case strings.HasPrefix(err.Error(), "json: "):
		return academy.Invalid("", "invalid JSON: %v", err)
	default: // reading failed (time-out, reset): its error names the connection's addresses
		return academy.Invalid("", "could not read the request body")
	}
}
