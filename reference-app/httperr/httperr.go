// Package httperr writes the academy's JSON error body, {"error":{"code","message"}}, for the
// handlers that live outside httpapi (live, video, web): one shape for every answer of the
// service. httpapi maps domain errors to statuses itself and writes the same shape.
package httperr

import (
	"encoding/json"
	"net/http"
)

type detail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Write answers status with the JSON error body. An error must not be cached in place of the
// resource, so caching headers set before are replaced by no-store and any ETag is dropped.
func Write(w http.ResponseWriter, status int, code, message string) {
	body, _ := json.Marshal(struct {
		Error detail `json:"error"`
	}{detail{code, message}})
	h := w.Header()
	h.Del("ETag")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(append(body, '\n'))
}
