// Package httpapi translates HTTP to the academy's Service: NewServer
// returns the service's http.Handler. Every route is listed in routes.go
// (Go 1.22 ServeMux patterns); middleware are func(http.Handler)
// http.Handler; JSON encoding and error writing live in json.go, where one
// table maps domain errors (academy.Kind) to HTTP statuses. Handlers never
// see storage types.
//
// Per route, requests pass: metrics (labelled by the route pattern, never
// the raw path), admission control (503 + Retry-After beyond MaxInFlight),
// rate limiting per client IP and per user (429 + Retry-After), runtime
// faults from /admin/faults, and a body size limit. Every response carries
// security headers. A request shed by a bounded queue of the service (an
// *academy.OverloadError: database connections, password hashing) is
// answered like admission control, 503 overloaded with Retry-After, and
// counted in academy_shed_requests_total by reason (inflight, db, hash).
//
// A caller is an access token (Authorization: Bearer; its session must not
// be revoked, and a token of scope mfa-setup reaches only MFA enrollment),
// the admin token, or an API key (X-API-Key; scope read allows GET and HEAD,
// and each key has its own token bucket). Wrong one-time codes are
// throttled per account like failed logins. Public catalog answers carry
// Cache-Control public max-age=3600 and a strong ETag (304 on
// If-None-Match); every personal answer and every error is no-store.
package httpapi
