package academy

import (
	"errors"
	"fmt"
	"time"
)

// Kind classifies an error; the HTTP layer maps each kind to a status.
type Kind int

// The kinds of domain errors.
const (
	KindInternal     Kind = iota // unexpected: storage down, bug
	KindInvalid                  // bad input
	KindUnauthorized             // missing or bad credentials
	KindForbidden                // authenticated but not allowed
	KindNotFound                 // no such resource
	KindConflict                 // state conflict (duplicate, course full)
	KindUnavailable              // temporarily unavailable (retry later)
)

// Error is a domain error with a stable machine-readable code.
type Error struct {
	Kind    Kind
	Code    string // snake_case, stable, e.g. "course_full"
	Message string
	Field   string // optional JSON path of the offending input
	Err     error  // optional cause
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	if e.Err != nil {
		return msg + ": " + e.Err.Error()
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error of kind with code and a formatted message.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a KindInvalid error about field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Kind: KindInvalid, Code: "invalid_input", Field: field, Message: fmt.Sprintf(format, args...)}
}

// Sentinel errors; compare with errors.Is.
var (
	ErrNotFound         = &Error{Kind: KindNotFound, Code: "not_found", Message: "not found"}
	ErrCourseNotFound   = &Error{Kind: KindNotFound, Code: "course_not_found", Message: "course not found"}
	ErrLessonNotFound   = &Error{Kind: KindNotFound, Code: "lesson_not_found", Message: "lesson not found"}
	ErrNotEnrolled      = &Error{Kind: KindForbidden, Code: "not_enrolled", Message: "enroll in the course first"}
	ErrCourseFull       = &Error{Kind: KindConflict, Code: "course_full", Message: "course is full"}
	ErrLiveSessionFull  = &Error{Kind: KindConflict, Code: "live_session_full", Message: "live session is full"}
	ErrEmailTaken       = &Error{Kind: KindConflict, Code: "email_taken", Message: "email already registered"}
	ErrSlugTaken        = &Error{Kind: KindConflict, Code: "slug_taken", Message: "slug already used by another course"}
	ErrIdempotencyReuse = &Error{Kind: KindConflict, Code: "idempotency_key_reused", Message: "idempotency key already used for another course"}
	ErrCapacityTooLow   = &Error{Kind: KindConflict, Code: "capacity_below_enrolled", Message: "capacity is below the number of enrolled students", Field: "capacity"}
	ErrBadCredentials   = &Error{Kind: KindUnauthorized, Code: "invalid_credentials", Message: "invalid email or password"}
	ErrUnauthenticated  = &Error{Kind: KindUnauthorized, Code: "unauthenticated", Message: "authentication required"}
	ErrInvalidToken     = &Error{Kind: KindUnauthorized, Code: "invalid_token", Message: "invalid or expired token"}
	// ErrRefreshTokenReused: a refresh token was presented after it had
	// been rotated; its whole session was revoked.
	ErrRefreshTokenReused = &Error{Kind: KindUnauthorized, Code: "refresh_token_reused", Message: "refresh token already used: the session is revoked, sign in again"}
	// MFA (TOTP) errors.
	ErrMFARequired      = &Error{Kind: KindUnauthorized, Code: "mfa_required", Message: "this account needs a one-time code (otp) or a recovery code"}
	ErrOTPInvalid       = &Error{Kind: KindUnauthorized, Code: "invalid_otp", Message: "wrong, expired or already used one-time code"}
	ErrMFAEnabled       = &Error{Kind: KindConflict, Code: "mfa_already_enabled", Message: "multi-factor authentication is already on"}
	ErrMFANotEnabled    = &Error{Kind: KindConflict, Code: "mfa_not_enabled", Message: "multi-factor authentication is off"}
	ErrMFAConfirmFailed = &Error{Kind: KindConflict, Code: "mfa_not_pending", Message: "no enrollment to confirm: start one with POST /v1/me/mfa/totp"}
	// API key errors.
	ErrInvalidAPIKey         = &Error{Kind: KindUnauthorized, Code: "invalid_api_key", Message: "invalid or revoked API key"}
	ErrAPIKeyNotFound        = &Error{Kind: KindNotFound, Code: "api_key_not_found", Message: "no such API key"}
	ErrTooManyAPIKeys        = &Error{Kind: KindConflict, Code: "too_many_api_keys", Message: "too many active API keys: revoke one first"}
	ErrInsufficientScope     = &Error{Kind: KindForbidden, Code: "insufficient_scope", Message: "this API key is read-only"}
	ErrSessionRequired       = &Error{Kind: KindForbidden, Code: "session_required", Message: "API keys cannot manage credentials: sign in"}
	ErrMFAEnrollmentRequired = &Error{Kind: KindForbidden, Code: "mfa_enrollment_required", Message: "your role requires multi-factor authentication: enroll (POST /v1/me/mfa/totp), confirm, then sign in again"}
	ErrForbidden             = &Error{Kind: KindForbidden, Code: "forbidden", Message: "not allowed for your role"}
	ErrQuizExhausted         = &Error{Kind: KindConflict, Code: "quiz_attempts_exhausted", Message: "no quiz attempt left for this lesson"}
	ErrEnrollmentMissing     = &Error{Kind: KindNotFound, Code: "enrollment_not_found", Message: "not enrolled in this course"}
	// ErrOverloaded is a request shed because a bounded queue stayed full
	// for its whole wait budget (503 with Retry-After). The error returned
	// is an *OverloadError that wraps it: errors.Is(err, ErrOverloaded)
	// holds, and errors.As(err, &oe) tells which queue.
	ErrOverloaded = &Error{Kind: KindUnavailable, Code: "overloaded", Message: "server is at capacity; retry later"}
)

// The bounded queues that shed requests (OverloadError.Queue).
const (
	QueueDB   = "db"   // a database connection of a shard's pool
	QueueHash = "hash" // a password hashing slot
)

// OverloadError is the error of a request shed by a bounded queue: no
// slot was free within Wait. It unwraps to ErrOverloaded.
type OverloadError struct {
	Queue string        // QueueDB or QueueHash
	Wait  time.Duration // the wait budget that ran out
}

func (e *OverloadError) Error() string {
	return fmt.Sprintf("no %s slot within %v: %s", e.Queue, e.Wait, ErrOverloaded.Message)
}

// Unwrap returns ErrOverloaded.
func (e *OverloadError) Unwrap() error { return ErrOverloaded }

// KindOf returns the kind of err: that of the first *Error in its chain, or
// KindInternal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}
