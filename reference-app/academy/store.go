package academy

import (
	"context"
	"time"

	"github.com/google/uuid"
)

// Users stores accounts and refresh tokens. All methods are safe for
// concurrent use.
type Users interface {
	// CreateUser stores u; ErrEmailTaken if its id (derived from the
	// e-mail) exists.
	CreateUser(ctx context.Context, u UserRecord) error
	// UserByID returns ErrNotFound when there is no such user.
	UserByID(ctx context.Context, id uuid.UUID) (UserRecord, error)
	// CreateSession stores a new session (refresh-token family) of userID
	// with its first refresh token.
	CreateSession(ctx context.Context, userID, sessionID uuid.UUID, hash []byte, now, expires time.Time) error
	// RotateRefreshToken marks the refresh token with hash used and stores
	// next, valid until expires, in the same session, whose id it returns.
	// It reports ErrInvalidToken when the token is unknown, expired, or its
	// session revoked; and ErrRefreshTokenReused when the token was used
	// before, after revoking its session (the revocation is kept). Two
	// concurrent calls with one token: one rotates, the other is a reuse.
	RotateRefreshToken(ctx context.Context, userID uuid.UUID, hash, next []byte, now, expires time.Time) (sessionID uuid.UUID, err error)
	// RevokeSession revokes a session of userID (again is no error);
	// ErrInvalidToken when userID has no such session.
	RevokeSession(ctx context.Context, userID, sessionID uuid.UUID, now time.Time) error
	// SessionActive reports whether the session exists and is not revoked.
	SessionActive(ctx context.Context, userID, sessionID uuid.UUID) (bool, error)
}

// MFA stores a user's TOTP state and recovery codes. Safe for concurrent use.
type MFA interface {
	// SetTOTPSecret stores a pending secret (replacing a pending one);
	// ErrMFAEnabled when MFA is on, ErrNotFound without such a user.
	SetTOTPSecret(ctx context.Context, userID uuid.UUID, secret string) error
	// EnableTOTP turns MFA on with the code of step accepted and stores the
	// recovery codes' hashes, unless it is on already or no secret is
	// pending (ErrMFAConfirmFailed).
	EnableTOTP(ctx context.Context, userID uuid.UUID, step int64, recoveryHashes [][]byte) error
	// UseTOTPStep records that the code of step was accepted; false when a
	// code of this step or a later one was accepted before (a replay).
	UseTOTPStep(ctx context.Context, userID uuid.UUID, step int64) (bool, error)
	// UseRecoveryCode spends a recovery code; false when unknown or spent.
	UseRecoveryCode(ctx context.Context, userID uuid.UUID, hash []byte) (bool, error)
	// DisableTOTP turns MFA off and drops the secret and recovery codes.
	DisableTOTP(ctx context.Context, userID uuid.UUID) error
}

// APIKeys stores the API keys of machine clients (only hashes of the keys).
// Safe for concurrent use.
type APIKeys interface {
	// CreateAPIKey stores k with the hash of its key, unless its owner has
	// maxActive unrevoked keys (ErrTooManyAPIKeys); the bound holds under
	// concurrent creations.
	CreateAPIKey(ctx context.Context, k APIKey, hash []byte, maxActive int) error
	// APIKeys lists a user's keys, revoked ones too, oldest first.
	APIKeys(ctx context.Context, userID uuid.UUID) ([]APIKey, error)
	// RevokeAPIKey revokes a key of userID (again is no error) and returns
	// its hash; ErrAPIKeyNotFound when userID has no such key.
	RevokeAPIKey(ctx context.Context, userID, id uuid.UUID, now time.Time) (hash []byte, err error)
	// APIKeyByHash finds a key of userID and its owner's role;
	// ErrInvalidAPIKey when there is none.
	APIKeyByHash(ctx context.Context, userID uuid.UUID, hash []byte) (APIKey, Role, error)
}

// Catalog stores courses and lessons.
type Catalog interface {
	ListCourses(ctx context.Context, f CourseFilter) (CoursePage, error)
	// Course finds a course by id or slug; ErrCourseNotFound otherwise.
	Course(ctx context.Context, key string) (Course, error)
	CreateCourse(ctx context.Context, c Course) (Course, error)
	UpdateCourse(ctx context.Context, id uuid.UUID, p CoursePatch) (Course, error)
	Lessons(ctx context.Context, courseID uuid.UUID) ([]Lesson, error)
	Lesson(ctx context.Context, id uuid.UUID) (Lesson, error)
}

// Enrollments stores seats. Enroll must never let the number of enrolled
// users of a course exceed its capacity, whatever the concurrency, and must
// keep one enrollment per user and course.
type Enrollments interface {
	// Enroll takes a seat: Created when new; ErrCourseFull when no seat
	// is left; ErrIdempotencyReuse when key was used for another course.
	Enroll(ctx context.Context, userID, courseID uuid.UUID, key string) (EnrollResult, error)
	// Unenroll frees the seat; ErrEnrollmentMissing if there was none.
	Unenroll(ctx context.Context, userID, courseID uuid.UUID) error
	// Enrollment returns ErrEnrollmentMissing when there is none.
	Enrollment(ctx context.Context, userID, courseID uuid.UUID) (Enrollment, error)
	Enrollments(ctx context.Context, userID uuid.UUID) ([]Enrollment, error)
}

// Learning stores progress and quiz attempts.
type Learning interface {
	// SaveProgress raises (never lowers) the stored percent and returns
	// the stored row.
	SaveProgress(ctx context.Context, p LessonProgress) (LessonProgress, error)
	Progress(ctx context.Context, userID, courseID uuid.UUID) ([]LessonProgress, error)
	AllProgress(ctx context.Context, userID uuid.UUID) ([]LessonProgress, error)
	// AddQuizAttempt stores a, unless its user already has limit attempts
	// at its lesson (ErrQuizAttemptsExhausted); limit <= 0 is no bound. The
	// bound holds under concurrent attempts.
	AddQuizAttempt(ctx context.Context, a QuizAttempt, limit int) error
	Grades(ctx context.Context, userID uuid.UUID) ([]Grade, error)
}

// Live stores live sessions.
type Live interface {
	LiveSessions(ctx context.Context) ([]LiveSession, error)
	LiveSession(ctx context.Context, id uuid.UUID) (LiveSession, error)
}

// Admin seeds and resets the data set.
type Admin interface {
	// Seed inserts d; the store is expected to be empty.
	Seed(ctx context.Context, d SeedData) error
	// Reset deletes every row.
	Reset(ctx context.Context) error
	// Empty reports whether no user exists.
	Empty(ctx context.Context) (bool, error)
	// Ping checks every database.
	Ping(ctx context.Context) error
	// Exclusive runs fn while holding a lock shared by every replica using
	// the same databases (seeding and resets take it).
	Exclusive(ctx context.Context, fn func(ctx context.Context) error) error
}

// Store is everything the service needs from storage.
type Store interface {
	Users
	MFA
	APIKeys
	Catalog
	Enrollments
	Learning
	Live
	Admin
}

// Cache is a best-effort byte cache. Implementations never return errors:
// a failing cache behaves as a cache that misses. Safe for concurrent use.
type Cache interface {
	Get(ctx context.Context, key string) ([]byte, bool)
	Set(ctx context.Context, key string, value []byte, ttl time.Duration)
	Delete(ctx context.Context, keys ...string)
	// Clear removes every key of this service.
	Clear(ctx context.Context)
}
