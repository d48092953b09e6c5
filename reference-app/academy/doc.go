// Package academy is the domain of the TrendTactics Academy reference
// service: its types (users, courses, lessons, enrollments, progress, quiz
// attempts, live sessions), its errors, the storage interfaces that
// reference-app/postgres implements, the cache interface that
// reference-app/cache implements, and Service, which holds the business
// rules (validation, authorization by role, caching, token issuing).
// Authentication: sessions are refresh-token families (rotation; reuse of a
// spent token revokes the family; logout revokes it), access tokens carry
// their session and stop working with it; TOTP MFA (RFC 6238, with
// recovery codes; required by role through Options.MFARequiredFor); API
// keys stored hashed, with a read or write scope.
// Password hashing, the one CPU-heavy step of a request, runs in a bounded
// number of slots with a wait budget; past it the request fails with an
// *OverloadError (ErrOverloaded), as it does when storage finds no
// database connection within its own budget.
//
// The package imports neither net/http nor pgx: reference-app/httpapi
// translates HTTP to Service calls, and maps the errors of this package to
// status codes in one table.
package academy
