// Package academy is the domain of the TrendTactics Academy reference
// service: its types (users, courses, lessons, enrollments, progress, quiz
// attempts, live sessions), its errors, the storage interfaces that
// reference-app/postgres implements, the cache interface that
// reference-app/cache implements, and Service, which holds the business
// rules (validation, authorization by role, caching, token issuing).
//
// The package imports neither net/http nor pgx: reference-app/httpapi
// translates HTTP to Service calls, and maps the errors of this package to
// status codes in one table.
package academy
