package academy

import (
	"crypto/sha1"
	"encoding/binary"
	"hash/fnv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Role is what a user may do.
type Role string

// The roles.
const (
	RoleStudent    Role = "student"
	RoleInstructor Role = "instructor"
	RoleAdmin      Role = "admin"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	return r == RoleStudent || r == RoleInstructor || r == RoleAdmin
}

// Principal is who makes a request. The zero value is anonymous.
type Principal struct {
	UserID uuid.UUID
	Role   Role
	// SessionID is the session of the access token (uuid.Nil for tokens
	// from IssueToken and the admin token).
	SessionID uuid.UUID
	// APIKeyID is the API key that authenticated the request (uuid.Nil for
	// tokens); Scope is its scope ("" for tokens: everything the role may).
	APIKeyID uuid.UUID
	Scope    Scope
}

// Authenticated reports whether p is not anonymous.
func (p Principal) Authenticated() bool { return p.Role != "" }

// Is reports whether p has one of roles.
func (p Principal) Is(roles ...Role) bool {
	for _, r := range roles {
		if p.Role == r {
			return true
		}
	}
	return false
}

// User is an account.
type User struct {
	ID        uuid.UUID `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	// Region is where the user lives ("" for none); see ShardOfRegion.
	Region string `json:"region,omitempty"`
}

// UserRecord is a user as stored, with its password hash.
type UserRecord struct {
	User
	PasswordHash []byte
	// TOTPSecret is the base32 TOTP secret, pending until TOTPEnabled.
	TOTPSecret  string
	TOTPEnabled bool
	// TOTPLastStep is the time step of the last code accepted (no replay).
	TOTPLastStep int64
}

// Session is what login and refresh return.
type Session struct {
	Token        string `json:"token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"` // seconds until Token expires
	// Scope is "mfa-setup" when the token may only enroll MFA (its role
	// requires MFA and the account has none yet).
	Scope Scope `json:"scope,omitempty"`
}

// Course is a catalog entry with a seat capacity.
type Course struct {
	ID             uuid.UUID `json:"id"`
	Slug           string    `json:"slug"`
	Title          string    `json:"title"`
	Description    string    `json:"description"`
	Category       string    `json:"category"`
	InstructorID   uuid.UUID `json:"instructor_id"`
	Capacity       int       `json:"capacity"`
	SeatsTaken     int       `json:"seats_taken"`
	SeatsAvailable int       `json:"seats_available"`
	LessonCount    int       `json:"lesson_count"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// CourseFilter selects a page of the catalog.
type CourseFilter struct {
	Limit    int    // 1..100, default 20
	Offset   int    // >= 0
	Query    string // case-insensitive substring of title or description
	Category string // exact category
}

// CoursePage is one page of the catalog.
type CoursePage struct {
	Courses []Course `json:"courses"`
	Total   int      `json:"total"`
	Limit   int      `json:"limit"`
	Offset  int      `json:"offset"`
}

// NewCourse is the input of Service.CreateCourse.
type NewCourse struct {
	Slug        string `json:"slug"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Category    string `json:"category"`
	Capacity    int    `json:"capacity"`
}

// CoursePatch is the input of Service.UpdateCourse; nil fields are kept.
type CoursePatch struct {
	Title       *string `json:"title"`
	Description *string `json:"description"`
	Category    *string `json:"category"`
	Capacity    *int    `json:"capacity"`
}

// Lesson belongs to a course. QuizAnswers is the answer key and never
// leaves the service.
type Lesson struct {
	ID              uuid.UUID `json:"id"`
	CourseID        uuid.UUID `json:"course_id"`
	Position        int       `json:"position"`
	Title           string    `json:"title"`
	Body            string    `json:"body"`
	DurationSeconds int       `json:"duration_seconds"`
	QuizQuestions   int       `json:"quiz_questions"`
	QuizAnswers     []int     `json:"-"`
}

// Enrollment is a user's seat in a course.
type Enrollment struct {
	UserID    uuid.UUID `json:"user_id"`
	CourseID  uuid.UUID `json:"course_id"`
	CreatedAt time.Time `json:"created_at"`
}

// EnrollResult tells whether Enroll took a new seat.
type EnrollResult struct {
	Enrollment
	// Created is true when this call (or the first call with the same
	// idempotency key) took the seat.
	Created bool `json:"-"`
	// Replayed is true when the result is that of an earlier call with the
	// same idempotency key.
	Replayed bool `json:"-"`
}

// LessonProgress is a user's progress through one lesson. Percent only
// grows; CompletedAt is set once, when Percent first reaches 100.
type LessonProgress struct {
	UserID      uuid.UUID  `json:"user_id"`
	LessonID    uuid.UUID  `json:"lesson_id"`
	CourseID    uuid.UUID  `json:"course_id"`
	Percent     int        `json:"percent"`
	CompletedAt *time.Time `json:"completed_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// CourseProgress sums up a user's progress through a course.
type CourseProgress struct {
	CourseID         uuid.UUID        `json:"course_id"`
	UserID           uuid.UUID        `json:"user_id"`
	Lessons          int              `json:"lessons"`
	CompletedLessons int              `json:"completed_lessons"`
	Percent          int              `json:"percent"`
	LessonProgress   []LessonProgress `json:"lesson_progress"`
}

// QuizAttempt is one graded submission of a lesson's quiz.
type QuizAttempt struct {
	ID        uuid.UUID `json:"id"`
	UserID    uuid.UUID `json:"user_id"`
	LessonID  uuid.UUID `json:"lesson_id"`
	CourseID  uuid.UUID `json:"course_id"`
	Score     int       `json:"score"`
	MaxScore  int       `json:"max_score"`
	CreatedAt time.Time `json:"created_at"`
}

// Grade is the best quiz result of a user for one lesson.
type Grade struct {
	CourseID  uuid.UUID `json:"course_id"`
	LessonID  uuid.UUID `json:"lesson_id"`
	BestScore int       `json:"best_score"`
	MaxScore  int       `json:"max_score"`
	Attempts  int       `json:"attempts"`
}

// LiveSession is a scheduled live class.
type LiveSession struct {
	ID       uuid.UUID `json:"id"`
	CourseID uuid.UUID `json:"course_id"`
	Title    string    `json:"title"`
	StartsAt time.Time `json:"starts_at"`
	Capacity int       `json:"capacity"`
}

// EnrollmentView is an enrollment with its course summary.
type EnrollmentView struct {
	Enrollment
	Course CourseSummary `json:"course"`
}

// CourseSummary is the part of a course shown in lists of a user's courses.
type CourseSummary struct {
	ID    uuid.UUID `json:"id"`
	Slug  string    `json:"slug"`
	Title string    `json:"title"`
}

// Dashboard is the fan-out view of GET /v1/me/dashboard.
type Dashboard struct {
	User        User              `json:"user"`
	Enrollments []DashboardCourse `json:"enrollments"`
	Summary     DashboardSummary  `json:"summary"`
}

// DashboardCourse is one enrolled course and its progress.
type DashboardCourse struct {
	Course   CourseSummary `json:"course"`
	Enrolled time.Time     `json:"enrolled_at"`
	Percent  int           `json:"percent"`
}

// DashboardSummary totals a dashboard.
type DashboardSummary struct {
	Courses          int `json:"courses"`
	CompletedLessons int `json:"completed_lessons"`
}

// userNamespace is the UUID namespace of user ids derived from e-mails.
var userNamespace = uuid.MustParse("6f1d3b0a-8a47-4d1e-9a0a-3c5e0b7f2a11")

// UserIDFromEmail derives a user's id from its normalised e-mail address,
// so that the shard holding a user can be found from the e-mail at login.
func UserIDFromEmail(email string) uuid.UUID {
	return uuid.NewHash(sha1.New(), userNamespace, []byte(NormalizeEmail(email)), 5)
}

// NormalizeEmail lower-cases and trims an e-mail address.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// ShardOf returns the shard, in [0, n), that holds the rows owned by id:
// FNV-1a of the id's 16 bytes modulo n.
func ShardOf(id uuid.UUID, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write(id[:])
	return int(h.Sum64() % uint64(n))
}

// shortHash is used to derive deterministic ids.
func shortHash(b []byte) uint64 {
	h := fnv.New64a()
	_, _ = h.Write(b)
	return binary.BigEndian.Uint64(h.Sum(nil))
}
