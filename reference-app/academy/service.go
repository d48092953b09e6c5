package academy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/mail"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/errgroup"
)

// Cache lifetimes, from the scalability guide.
const (
	CourseTTL = time.Hour
	UserTTL   = 5 * time.Minute
)

// DefaultHashWait is the default of Options.HashWait.
const DefaultHashWait = 100 * time.Millisecond

// Options configure a Service.
type Options struct {
	// Secret signs access tokens (HS256). Required, at least 16 bytes.
	Secret []byte
	// AccessTTL is the lifetime of access tokens (default 15 min).
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of refresh tokens (default 30 days).
	RefreshTTL time.Duration
	// BcryptCost hashes passwords at registration (default bcrypt.DefaultCost).
	BcryptCost int
	// SeedBcryptCost hashes seeded passwords (default bcrypt.MinCost, so
	// that seeding thousands of users takes seconds).
	SeedBcryptCost int
	// HashConcurrency bounds the password hashes (bcrypt) of registrations
	// and logins running at once (default runtime.GOMAXPROCS(0); negative:
	// no bound). Seeding is not bounded.
	HashConcurrency int
	// HashWait is how long a registration or a login may wait for a
	// hashing slot; past it the request fails with an *OverloadError
	// (ErrOverloaded, 503). Default 100ms; negative: as long as the
	// request's context allows.
	HashWait time.Duration
	// QuizAttempts bounds the quiz attempts of a user at one lesson
	// (default 3; negative: no bound), so that the scores of many attempts
	// cannot reveal the answer key one answer at a time.
	QuizAttempts int
	// SessionCheckTTL is how long a replica trusts a cached "session
	// active" answer (default 10 s): an access token of a revoked session
	// works at most this long on a replica that neither revoked it nor
	// shares its cache (Redis).
	SessionCheckTTL time.Duration
	// MFARequiredFor lists the roles that must use MFA: until they have
	// enrolled, their logins get a token of scope ScopeMFASetup, good only
	// for enrolling (default none; academy serve requires it of
	// instructors and admins).
	MFARequiredFor []Role
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Reinvalidate, when positive, repeats every cache invalidation of a write this long
	// after it (0: once). With read replicas, a cache miss right after a write may be
	// filled from a replica that had not replayed the write yet; the second invalidation
	// drops such an entry once the store's view of its replicas includes the write (see
	// academy.ForCacheFill), so that a stale entry lives at most this long, not its TTL.
	Reinvalidate time.Duration
}

// Service holds the academy's business rules. It is safe for concurrent use.
type Service struct {
	store  Store
	cache  Cache
	opts   Options
	hashes hashQueue
}

// NewService returns a service over store and cache (nil for none).
func NewService(store Store, cache Cache, opts Options) (*Service, error) {
	if len(opts.Secret) < 16 {
		return nil, errors.New("academy: token secret must be at least 16 bytes")
	}
	if opts.AccessTTL <= 0 {
		opts.AccessTTL = 15 * time.Minute
	}
	if opts.SessionCheckTTL <= 0 {
		opts.SessionCheckTTL = 10 * time.Second
	}
	if opts.RefreshTTL <= 0 {
		opts.RefreshTTL = 30 * 24 * time.Hour
	}
	if opts.BcryptCost == 0 {
		opts.BcryptCost = bcrypt.DefaultCost
	}
	if opts.BcryptCost < bcrypt.MinCost || opts.BcryptCost > bcrypt.MaxCost {
		return nil, fmt.Errorf("academy: bcrypt cost %d outside [%d, %d]", opts.BcryptCost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	if opts.SeedBcryptCost == 0 {
		opts.SeedBcryptCost = bcrypt.MinCost
	}
	if opts.HashConcurrency == 0 {
		opts.HashConcurrency = runtime.GOMAXPROCS(0)
	}
	if opts.HashWait == 0 {
		opts.HashWait = DefaultHashWait
	}
	if opts.QuizAttempts == 0 {
		opts.QuizAttempts = 3
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if cache == nil {
		cache = noCache{}
	}
	return &Service{store: store, cache: cache, opts: opts, hashes: newHashQueue(opts.HashConcurrency, opts.HashWait)}, nil
}

// ---- accounts ----

// Register creates a student account. Its password hash waits at most
// Options.HashWait for a hashing slot, else Register fails with an
// *OverloadError.
func (s *Service) Register(ctx context.Context, email, password, name string) (User, error) {
	return s.register(ctx, email, password, name, "")
}

func (s *Service) register(ctx context.Context, email, password, name, region string) (User, error) {
	email = NormalizeEmail(email)
	if err := validateEmail(email); err != nil {
		return User{}, err
	}
	if n := len(password); n < 8 || n > 72 {
		return User{}, Invalid("password", "must be 8 to 72 bytes long")
	}
	name = strings.TrimSpace(name)
	if err := validateText("name", name, 1, 100); err != nil {
		return User{}, err
	}
	var hash []byte
	var herr error
	if err := s.hashes.run(ctx, func() { hash, herr = bcrypt.GenerateFromPassword([]byte(password), s.opts.BcryptCost) }); err != nil {
		return User{}, err
	}
	if herr != nil {
		return User{}, fmt.Errorf("hash password: %w", herr)
	}
	u := UserRecord{User: User{ID: UserIDFromEmail(email), Email: email, Name: name, Role: RoleStudent, CreatedAt: s.opts.Now().UTC(), Region: region}, PasswordHash: hash}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return User{}, err
	}
	return u.User, nil
}

// Login checks a password and opens a session. Like Register, it fails
// with an *OverloadError when no hashing slot came within Options.HashWait.
// With MFA on, a TOTP code (in.OTP) or a recovery code is needed too, checked
// after the password: ErrMFARequired without one, ErrOTPInvalid for a wrong,
// expired or replayed one.
func (s *Service) Login(ctx context.Context, in Credentials) (Session, error) {
	email, password := NormalizeEmail(in.Email), in.Password
	if email == "" || len(email) > 254 || password == "" || len(password) > 72 {
		return Session{}, ErrBadCredentials
	}
	u, err := s.store.UserByID(ctx, UserIDFromEmail(email))
	if errors.Is(err, ErrNotFound) {
		return Session{}, ErrBadCredentials
	}
	if err != nil {
		return Session{}, err
	}
	var mismatch error
	if err := s.hashes.run(ctx, func() { mismatch = bcrypt.CompareHashAndPassword(u.PasswordHash, []byte(password)) }); err != nil {
		return Session{}, err
	}
	if mismatch != nil {
		return Session{}, ErrBadCredentials
	}
	if u.TOTPEnabled {
		if err := s.secondFactor(ctx, u, in.OTP, in.RecoveryCode, ErrOTPInvalid); err != nil {
			return Session{}, err
		}
	}
	return s.newSession(ctx, u)
}

// Refresh exchanges a refresh token for a new session token pair in the
// same session (rotation): the presented token is spent. Presenting a
// spent token again is taken as theft: the whole session is revoked (the
// thief's and the owner's tokens stop working) and the answer is
// ErrRefreshTokenReused.
func (s *Service) Refresh(ctx context.Context, token string) (Session, error) {
	id, hash, err := parseRefreshToken(token)
	if err != nil {
		return Session{}, ErrInvalidToken
	}
	u, err := s.store.UserByID(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Session{}, ErrInvalidToken
	}
	if err != nil {
		return Session{}, err
	}
	next, nextHash, err := newRefreshToken(u.ID)
	if err != nil {
		return Session{}, fmt.Errorf("create refresh token: %w", err)
	}
	now := s.opts.Now()
	sid, err := s.store.RotateRefreshToken(ctx, id, hash, nextHash, now, now.Add(s.opts.RefreshTTL))
	if errors.Is(err, ErrRefreshTokenReused) {
		s.markRevoked(ctx, sid)
	}
	if err != nil {
		return Session{}, err
	}
	return s.session(u, sid, next, now)
}

// Logout revokes the caller's session: its refresh tokens and the access
// tokens that carry its id stop working (see Authenticate for how soon on
// other replicas). Tokens without a session (IssueToken, the admin token)
// get an invalid_input error.
func (s *Service) Logout(ctx context.Context, p Principal) error {
	if err := requireUser(p); err != nil {
		return err
	}
	if p.SessionID == uuid.Nil {
		return Errorf(KindInvalid, "no_session", "this token belongs to no session")
	}
	if err := s.store.RevokeSession(ctx, p.UserID, p.SessionID, s.opts.Now()); err != nil {
		return err
	}
	s.markRevoked(ctx, p.SessionID)
	return nil
}

func sessionKey(id uuid.UUID) string { return "session:" + id.String() }

// markRevoked caches the revocation of session id for as long as its access
// tokens can live.
func (s *Service) markRevoked(ctx context.Context, id uuid.UUID) {
	s.cache.Set(ctx, sessionKey(id), []byte("revoked"), s.opts.AccessTTL)
}

func (s *Service) newSession(ctx context.Context, u UserRecord) (Session, error) {
	now := s.opts.Now()
	refresh, hash, err := newRefreshToken(u.ID)
	if err != nil {
		return Session{}, fmt.Errorf("create refresh token: %w", err)
	}
	sid := uuid.New()
	if err := s.store.CreateSession(ctx, u.ID, sid, hash, now, now.Add(s.opts.RefreshTTL)); err != nil {
		return Session{}, err
	}
	return s.session(u, sid, refresh, now)
}

// session signs the access token of session sid and pairs it with refresh.
// A user whose role needs MFA (Options.MFARequiredFor) and who has none
// gets a token of scope ScopeMFASetup: it may only enroll.
func (s *Service) session(u UserRecord, sid uuid.UUID, refresh string, now time.Time) (Session, error) {
	var scope Scope
	if !u.TOTPEnabled && slices.Contains(s.opts.MFARequiredFor, u.Role) {
		scope = ScopeMFASetup
	}
	access, err := issueAccess(s.opts.Secret, u.ID, sid, u.Role, scope, now, s.opts.AccessTTL)
	if err != nil {
		return Session{}, fmt.Errorf("sign access token: %w", err)
	}
	return Session{Token: access, RefreshToken: refresh, ExpiresIn: int(s.opts.AccessTTL / time.Second), Scope: scope}, nil
}

// IssueToken signs an access token for a user without a password check and
// without a session (it cannot be revoked; it expires). It is meant for
// tests, benchmarks and trusted tooling.
func (s *Service) IssueToken(id uuid.UUID, role Role) (string, error) {
	return issueAccess(s.opts.Secret, id, uuid.Nil, role, "", s.opts.Now(), s.opts.AccessTTL)
}

// Authenticate verifies an access token. A token of a session also needs
// the session active: the answer is cached for Options.SessionCheckTTL (a
// revocation is written to the cache at once, so replicas sharing a Redis
// cache see it at once; others within SessionCheckTTL).
func (s *Service) Authenticate(ctx context.Context, token string) (Principal, error) {
	p, err := verifyAccess(s.opts.Secret, token, s.opts.Now())
	if err != nil || p.SessionID == uuid.Nil {
		return p, err
	}
	key := sessionKey(p.SessionID)
	if b, ok := s.cache.Get(ctx, key); ok {
		if string(b) == "active" {
			return p, nil
		}
		return Principal{}, ErrInvalidToken
	}
	active, err := s.store.SessionActive(ctx, p.UserID, p.SessionID)
	if err != nil {
		return Principal{}, err
	}
	if !active {
		s.markRevoked(ctx, p.SessionID)
		return Principal{}, ErrInvalidToken
	}
	s.cache.Set(ctx, key, []byte("active"), s.opts.SessionCheckTTL)
	return p, nil
}

// Me returns the caller's account.
func (s *Service) Me(ctx context.Context, p Principal) (User, error) {
	if err := requireUser(p); err != nil {
		return User{}, err
	}
	return s.user(ctx, p.UserID)
}

func (s *Service) user(ctx context.Context, id uuid.UUID) (User, error) {
	return cached(ctx, s, "user:"+id.String(), UserTTL, func(ctx context.Context) (User, error) {
		u, err := s.store.UserByID(ctx, id)
		return u.User, err
	})
}

// MyEnrollments lists the caller's enrollments with course summaries.
func (s *Service) MyEnrollments(ctx context.Context, p Principal) ([]EnrollmentView, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	es, err := cached(ctx, s, "enrollments:"+p.UserID.String(), UserTTL, func(ctx context.Context) ([]Enrollment, error) {
		return s.store.Enrollments(ctx, p.UserID)
	})
	if err != nil {
		return nil, err
	}
	out := make([]EnrollmentView, 0, len(es))
	for _, e := range es {
		c, err := s.Course(ctx, e.CourseID.String())
		if errors.Is(err, ErrCourseNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, EnrollmentView{Enrollment: e, Course: summary(c)})
	}
	return out, nil
}

// Dashboard fans out to the account, the enrollments and the progress.
func (s *Service) Dashboard(ctx context.Context, p Principal) (Dashboard, error) {
	if err := requireUser(p); err != nil {
		return Dashboard{}, err
	}
	var (
		d        Dashboard
		views    []EnrollmentView
		progress []LessonProgress
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { d.User, err = s.user(gctx, p.UserID); return err })
	g.Go(func() (err error) { views, err = s.MyEnrollments(gctx, p); return err })
	g.Go(func() (err error) { progress, err = s.store.AllProgress(gctx, p.UserID); return err })
	if err := g.Wait(); err != nil {
		return Dashboard{}, err
	}
	byCourse := map[uuid.UUID][]LessonProgress{}
	for _, lp := range progress {
		byCourse[lp.CourseID] = append(byCourse[lp.CourseID], lp)
		if lp.CompletedAt != nil {
			d.Summary.CompletedLessons++
		}
	}
	d.Enrollments = make([]DashboardCourse, 0, len(views))
	for _, v := range views {
		lessons := 0
		if c, err := s.Course(ctx, v.CourseID.String()); err == nil {
			lessons = c.LessonCount
		}
		d.Enrollments = append(d.Enrollments, DashboardCourse{Course: v.Course, Enrolled: v.CreatedAt, Percent: coursePercent(byCourse[v.CourseID], lessons)})
	}
	d.Summary.Courses = len(views)
	return d, nil
}

// Grades lists the caller's best quiz results.
func (s *Service) Grades(ctx context.Context, p Principal) ([]Grade, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	return s.store.Grades(ctx, p.UserID)
}

// ---- catalog ----

// Courses returns a page of the catalog (cached for CourseTTL; the page's
// seats_taken may lag behind; the course detail is exact).
func (s *Service) Courses(ctx context.Context, f CourseFilter) (CoursePage, error) {
	var page CoursePage
	b, err := s.CoursesJSON(ctx, f)
	if err != nil {
		return page, err
	}
	err = json.Unmarshal(b, &page)
	return page, err
}

// CoursesJSON is Courses encoded as JSON, straight from the cache when it
// holds the page (no decoding and re-encoding on the hot path).
func (s *Service) CoursesJSON(ctx context.Context, f CourseFilter) ([]byte, error) {
	if f.Limit == 0 {
		f.Limit = 20
	}
	if f.Limit < 1 || f.Limit > 100 {
		return nil, Invalid("limit", "must be between 1 and 100")
	}
	if f.Offset < 0 || f.Offset > 1_000_000 {
		return nil, Invalid("offset", "must be between 0 and 1000000")
	}
	if err := validateQuery("q", f.Query, 100); err != nil {
		return nil, err
	}
	if err := validateQuery("category", f.Category, 50); err != nil {
		return nil, err
	}
	// The search ignores the case of ASCII letters (ILIKE; in the C locale of
	// the throwaway cluster no other letter has a case). The store gets the
	// folded text, and the key is made of it, so that the case variants of
	// one query share one entry and that entry is what the store answers.
	f.Query = foldASCII(f.Query)
	key := "courses:" + s.catalogGeneration(ctx) + ":" + strconv.Itoa(f.Limit) + ":" + strconv.Itoa(f.Offset) + ":" + strconv.Quote(f.Category) + ":" + strconv.Quote(f.Query)
	return cachedJSON(ctx, s, key, CourseTTL, func(ctx context.Context) (CoursePage, error) {
		page, err := s.store.ListCourses(ctx, f)
		for i := range page.Courses {
			page.Courses[i].SeatsAvailable = page.Courses[i].Capacity - page.Courses[i].SeatsTaken
		}
		return page, err
	})
}

// catalogGeneration returns the version of cached catalog pages; writes to
// the catalog change it, which invalidates every cached page at once.
func (s *Service) catalogGeneration(ctx context.Context) string {
	if b, ok := s.cache.Get(ctx, "courses:gen"); ok {
		return string(b)
	}
	return s.bumpCatalog(ctx)
}

func (s *Service) bumpCatalog(ctx context.Context) string {
	gen := strconv.FormatInt(time.Now().UnixNano(), 36)
	s.cache.Set(ctx, "courses:gen", []byte(gen), 2*CourseTTL)
	return gen
}

// invalidated invalidates after a write: it deletes keys and, with bump, changes the
// catalog's generation; with Options.Reinvalidate, once more that long after.
func (s *Service) invalidated(ctx context.Context, bump bool, keys ...string) {
	do := func(ctx context.Context) {
		if bump {
			s.bumpCatalog(ctx)
		}
		if len(keys) > 0 {
			s.cache.Delete(ctx, keys...)
		}
	}
	do(ctx)
	if s.opts.Reinvalidate > 0 {
		time.AfterFunc(s.opts.Reinvalidate, func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			do(ctx)
		})
	}
}

func courseKeys(c Course) []string {
	return []string{"course:" + c.ID.String(), "course:" + c.Slug, "lessons:" + c.ID.String()}
}

// Course returns a course by id (in any form uuid.Parse accepts) or slug.
func (s *Service) Course(ctx context.Context, key string) (Course, error) {
	key, ok := canonicalCourseKey(key)
	if !ok {
		return Course{}, ErrCourseNotFound
	}
	return cached(ctx, s, "course:"+key, CourseTTL, func(ctx context.Context) (Course, error) {
		c, err := s.store.Course(ctx, key)
		c.SeatsAvailable = c.Capacity - c.SeatsTaken
		return c, err
	})
}

var slugRE = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)

// CreateCourse adds a course owned by the caller (instructor or admin).
func (s *Service) CreateCourse(ctx context.Context, p Principal, in NewCourse) (Course, error) {
	if err := requireRole(p, RoleInstructor, RoleAdmin); err != nil {
		return Course{}, err
	}
	if len(in.Slug) < 1 || len(in.Slug) > 80 || !slugRE.MatchString(in.Slug) {
		return Course{}, Invalid("slug", "must be 1 to 80 lower-case letters, digits and single hyphens")
	}
	if _, err := uuid.Parse(in.Slug); err == nil {
		return Course{}, Invalid("slug", "must not be a UUID")
	}
	if err := validateText("title", in.Title, 1, 200); err != nil {
		return Course{}, err
	}
	if err := validateText("description", in.Description, 0, 5000); err != nil {
		return Course{}, err
	}
	if err := validateText("category", in.Category, 1, 50); err != nil {
		return Course{}, err
	}
	if in.Capacity < 0 || in.Capacity > 1_000_000 {
		return Course{}, Invalid("capacity", "must be between 0 and 1000000")
	}
	now := s.opts.Now().UTC()
	c, err := s.store.CreateCourse(ctx, Course{ID: uuid.New(), Slug: in.Slug, Title: in.Title, Description: in.Description,
		Category: in.Category, InstructorID: p.UserID, Capacity: in.Capacity, CreatedAt: now, UpdatedAt: now})
	if err != nil {
		return Course{}, err
	}
	s.invalidated(ctx, true, courseKeys(c)...)
	c.SeatsAvailable = c.Capacity - c.SeatsTaken
	return c, nil
}

// UpdateCourse changes a course: its instructor or an admin only.
func (s *Service) UpdateCourse(ctx context.Context, p Principal, key string, in CoursePatch) (Course, error) {
	if err := requireRole(p, RoleInstructor, RoleAdmin); err != nil {
		return Course{}, err
	}
	c, err := s.uncachedCourse(ctx, key)
	if err != nil {
		return Course{}, err
	}
	if p.Role != RoleAdmin && c.InstructorID != p.UserID {
		return Course{}, ErrForbidden
	}
	if in.Title != nil {
		if err := validateText("title", *in.Title, 1, 200); err != nil {
			return Course{}, err
		}
	}
	if in.Description != nil {
		if err := validateText("description", *in.Description, 0, 5000); err != nil {
			return Course{}, err
		}
	}
	if in.Category != nil {
		if err := validateText("category", *in.Category, 1, 50); err != nil {
			return Course{}, err
		}
	}
	if in.Capacity != nil && (*in.Capacity < 0 || *in.Capacity > 1_000_000) {
		return Course{}, Invalid("capacity", "must be between 0 and 1000000")
	}
	updated, err := s.store.UpdateCourse(ctx, c.ID, in)
	if err != nil {
		return Course{}, err
	}
	s.invalidated(ctx, true, courseKeys(c)...)
	updated.SeatsAvailable = updated.Capacity - updated.SeatsTaken
	return updated, nil
}

func (s *Service) uncachedCourse(ctx context.Context, key string) (Course, error) {
	key, ok := canonicalCourseKey(key)
	if !ok {
		return Course{}, ErrCourseNotFound
	}
	return s.store.Course(ctx, key)
}

// Lessons lists the lessons of a course.
func (s *Service) Lessons(ctx context.Context, key string) ([]Lesson, error) {
	c, err := s.Course(ctx, key)
	if err != nil {
		return nil, err
	}
	return s.lessons(ctx, c.ID)
}

func (s *Service) lessons(ctx context.Context, courseID uuid.UUID) ([]Lesson, error) {
	return cached(ctx, s, "lessons:"+courseID.String(), CourseTTL, func(ctx context.Context) ([]Lesson, error) {
		ls, err := s.store.Lessons(ctx, courseID)
		if ls == nil {
			ls = []Lesson{}
		}
		return ls, err
	})
}

// Lesson returns one lesson by id.
func (s *Service) Lesson(ctx context.Context, id string) (Lesson, error) {
	lid, err := uuid.Parse(id)
	if err != nil {
		return Lesson{}, ErrLessonNotFound
	}
	return s.lesson(ctx, lid)
}

// lessonWithKey caches the answer key too (json:"-" hides it from clients).
type lessonWithKey struct {
	Lesson
	Answers []int `json:"answers"`
}

func (s *Service) lesson(ctx context.Context, id uuid.UUID) (Lesson, error) {
	l, err := cached(ctx, s, "lesson:"+id.String(), CourseTTL, func(ctx context.Context) (lessonWithKey, error) {
		l, err := s.store.Lesson(ctx, id)
		return lessonWithKey{Lesson: l, Answers: l.QuizAnswers}, err
	})
	l.QuizAnswers = l.Answers
	return l.Lesson, err
}

// ---- enrollment ----

// Enroll takes a seat in a course for the caller. key is an optional
// idempotency key (at most 200 bytes).
func (s *Service) Enroll(ctx context.Context, p Principal, courseKey, idemKey string) (EnrollResult, error) {
	if err := requireUser(p); err != nil {
		return EnrollResult{}, err
	}
	if len(idemKey) > 200 || !utf8.ValidString(idemKey) {
		return EnrollResult{}, Invalid("Idempotency-Key", "must be valid text of at most 200 bytes")
	}
	c, err := s.Course(ctx, courseKey)
	if err != nil {
		return EnrollResult{}, err
	}
	res, err := s.store.Enroll(ctx, p.UserID, c.ID, idemKey)
	if err != nil {
		return EnrollResult{}, err
	}
	if res.Created && !res.Replayed {
		s.invalidated(ctx, false, append(courseKeys(c), "enrollments:"+p.UserID.String())...)
	}
	return res, nil
}

// Unenroll frees the caller's seat.
func (s *Service) Unenroll(ctx context.Context, p Principal, courseKey string) error {
	if err := requireUser(p); err != nil {
		return err
	}
	c, err := s.Course(ctx, courseKey)
	if err != nil {
		return err
	}
	if err := s.store.Unenroll(ctx, p.UserID, c.ID); err != nil {
		return err
	}
	s.invalidated(ctx, false, append(courseKeys(c), "enrollments:"+p.UserID.String())...)
	return nil
}

// MyEnrollment returns the caller's enrollment in a course.
func (s *Service) MyEnrollment(ctx context.Context, p Principal, courseKey string) (Enrollment, error) {
	if err := requireUser(p); err != nil {
		return Enrollment{}, err
	}
	c, err := s.Course(ctx, courseKey)
	if err != nil {
		return Enrollment{}, err
	}
	return s.store.Enrollment(ctx, p.UserID, c.ID)
}

// ---- learning ----

// SetProgress records the caller's progress in a lesson of a course they
// are enrolled in. The stored value never decreases.
func (s *Service) SetProgress(ctx context.Context, p Principal, lessonID string, percent int) (LessonProgress, error) {
	if err := requireUser(p); err != nil {
		return LessonProgress{}, err
	}
	if percent < 0 || percent > 100 {
		return LessonProgress{}, Invalid("percent", "must be between 0 and 100")
	}
	l, err := s.Lesson(ctx, lessonID)
	if err != nil {
		return LessonProgress{}, err
	}
	if err := s.requireEnrolled(ctx, p, l.CourseID); err != nil {
		return LessonProgress{}, err
	}
	now := s.opts.Now().UTC()
	return s.store.SaveProgress(ctx, LessonProgress{UserID: p.UserID, LessonID: l.ID, CourseID: l.CourseID, Percent: percent, UpdatedAt: now})
}

func (s *Service) requireEnrolled(ctx context.Context, p Principal, courseID uuid.UUID) error {
	if _, err := s.store.Enrollment(ctx, p.UserID, courseID); err != nil {
		if errors.Is(err, ErrEnrollmentMissing) {
			return ErrNotEnrolled
		}
		return err
	}
	return nil
}

// CourseProgress returns the progress of user (uuid.Nil for the caller) in
// a course. Students see only their own; the course's instructor and
// admins see anyone's.
func (s *Service) CourseProgress(ctx context.Context, p Principal, user uuid.UUID, courseKey string) (CourseProgress, error) {
	if err := requireUser(p); err != nil {
		return CourseProgress{}, err
	}
	if user == uuid.Nil {
		user = p.UserID
	}
	c, err := s.Course(ctx, courseKey)
	if err != nil {
		return CourseProgress{}, err
	}
	if user != p.UserID && p.Role != RoleAdmin && !(p.Role == RoleInstructor && c.InstructorID == p.UserID) {
		return CourseProgress{}, ErrForbidden
	}
	lps, err := s.store.Progress(ctx, user, c.ID)
	if err != nil {
		return CourseProgress{}, err
	}
	if lps == nil {
		lps = []LessonProgress{}
	}
	cp := CourseProgress{CourseID: c.ID, UserID: user, Lessons: c.LessonCount, LessonProgress: lps, Percent: coursePercent(lps, c.LessonCount)}
	for _, lp := range lps {
		if lp.CompletedAt != nil {
			cp.CompletedLessons++
		}
	}
	return cp, nil
}

func coursePercent(lps []LessonProgress, lessons int) int {
	if lessons <= 0 {
		return 0
	}
	sum := 0
	for _, lp := range lps {
		sum += lp.Percent
	}
	return min(100, sum/lessons)
}

// SubmitQuiz grades answers to a lesson's quiz and stores the attempt. A
// user has Options.QuizAttempts attempts per lesson; past them
// ErrQuizExhausted (409).
func (s *Service) SubmitQuiz(ctx context.Context, p Principal, lessonID string, answers []int) (QuizAttempt, error) {
	if err := requireUser(p); err != nil {
		return QuizAttempt{}, err
	}
	l, err := s.Lesson(ctx, lessonID)
	if err != nil {
		return QuizAttempt{}, err
	}
	if len(answers) != len(l.QuizAnswers) {
		return QuizAttempt{}, Invalid("answers", "must have %d answers", len(l.QuizAnswers))
	}
	if err := s.requireEnrolled(ctx, p, l.CourseID); err != nil {
		return QuizAttempt{}, err
	}
	score := 0
	for i, a := range answers {
		if a == l.QuizAnswers[i] {
			score++
		}
	}
	a := QuizAttempt{ID: uuid.New(), UserID: p.UserID, LessonID: l.ID, CourseID: l.CourseID, Score: score, MaxScore: len(answers), CreatedAt: s.opts.Now().UTC()}
	if err := s.store.AddQuizAttempt(ctx, a, s.opts.QuizAttempts); err != nil {
		return QuizAttempt{}, err
	}
	return a, nil
}

// ---- live ----

// LiveSessions lists live sessions.
func (s *Service) LiveSessions(ctx context.Context) ([]LiveSession, error) {
	return cached(ctx, s, "live:sessions", time.Minute, func(ctx context.Context) ([]LiveSession, error) {
		ls, err := s.store.LiveSessions(ctx)
		if ls == nil {
			ls = []LiveSession{}
		}
		return ls, err
	})
}

// LiveSession returns one live session; the caller must be signed in.
func (s *Service) LiveSession(ctx context.Context, p Principal, id string) (LiveSession, error) {
	if err := requireUser(p); err != nil {
		return LiveSession{}, err
	}
	sid, err := uuid.Parse(id)
	if err != nil {
		return LiveSession{}, &Error{Kind: KindNotFound, Code: "live_session_not_found", Message: "live session not found"}
	}
	return s.store.LiveSession(ctx, sid)
}

// ---- admin ----

// Seed replaces all data with the deterministic data set of spec.
func (s *Service) Seed(ctx context.Context, p Principal, spec SeedSpec) (SeedSummary, error) {
	if err := requireRole(p, RoleAdmin); err != nil {
		return SeedSummary{}, err
	}
	if err := spec.Validate(); err != nil {
		return SeedSummary{}, err
	}
	d, passwords := buildSeed(spec)
	if err := s.hashAll(ctx, d.Users, passwords); err != nil {
		return SeedSummary{}, err
	}
	err := s.store.Exclusive(ctx, func(ctx context.Context) error {
		if err := s.store.Reset(ctx); err != nil {
			return err
		}
		return s.store.Seed(ctx, d)
	})
	if err != nil {
		return SeedSummary{}, err
	}
	s.cache.Clear(ctx)
	return SeedSummary{Users: spec.Users, Instructors: SeedInstructors(spec.Courses) * min(1, spec.Courses), Courses: len(d.Courses),
		Lessons: len(d.Lessons), LiveSessions: len(d.LiveSessions), Seed: spec.Seed}, nil
}

// SeedIfEmpty seeds when no user exists; it reports whether it did.
func (s *Service) SeedIfEmpty(ctx context.Context, spec SeedSpec) (bool, error) {
	if err := spec.Validate(); err != nil {
		return false, err
	}
	d, passwords := buildSeed(spec)
	seeded := false
	// Replicas starting together: the first seeds, the others find data.
	err := s.store.Exclusive(ctx, func(ctx context.Context) error {
		empty, err := s.store.Empty(ctx)
		if err != nil || !empty {
			return err
		}
		if err := s.hashAll(ctx, d.Users, passwords); err != nil {
			return err
		}
		if err := s.store.Reset(ctx); err != nil {
			return err
		}
		seeded = true
		return s.store.Seed(ctx, d)
	})
	if err != nil {
		return false, err
	}
	if seeded {
		s.cache.Clear(ctx)
	}
	return seeded, nil
}

func (s *Service) hashAll(ctx context.Context, users []UserRecord, passwords []string) error {
	g, ctx := errgroup.WithContext(ctx)
	workers := runtime.GOMAXPROCS(0)
	var next int
	var mu sync.Mutex
	for range workers {
		g.Go(func() error {
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(users) || ctx.Err() != nil {
					return ctx.Err()
				}
				h, err := bcrypt.GenerateFromPassword([]byte(passwords[i]), s.opts.SeedBcryptCost)
				if err != nil {
					return err
				}
				users[i].PasswordHash = h
			}
		})
	}
	return g.Wait()
}

// Reset deletes all data.
func (s *Service) Reset(ctx context.Context, p Principal) error {
	if err := requireRole(p, RoleAdmin); err != nil {
		return err
	}
	if err := s.store.Reset(ctx); err != nil {
		return err
	}
	s.cache.Clear(ctx)
	return nil
}

// Ping checks storage.
func (s *Service) Ping(ctx context.Context) error { return s.store.Ping(ctx) }

// ---- helpers ----

func requireUser(p Principal) error {
	if !p.Authenticated() {
		return ErrUnauthenticated
	}
	return nil
}

func requireRole(p Principal, roles ...Role) error {
	if !p.Authenticated() {
		return ErrUnauthenticated
	}
	if !p.Is(roles...) {
		return ErrForbidden
	}
	return nil
}

func validateEmail(email string) error {
	if len(email) < 3 || len(email) > 254 || !utf8.ValidString(email) {
		return Invalid("email", "must be a valid e-mail address")
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" {
		return Invalid("email", "must be a valid e-mail address")
	}
	return nil
}

func validateText(field, v string, minLen, maxLen int) error {
	if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
		return Invalid(field, "must be valid UTF-8 text")
	}
	if n := utf8.RuneCountInString(v); n < minLen || n > maxLen {
		return Invalid(field, "must be %d to %d characters long", minLen, maxLen)
	}
	return nil
}

// validateQuery checks a query parameter before it reaches a cache key or
// SQL: valid UTF-8, no control character (PostgreSQL refuses NUL), at most
// maxLen bytes.
func validateQuery(field, v string, maxLen int) error {
	if len(v) > maxLen || !utf8.ValidString(v) || strings.ContainsFunc(v, unicode.IsControl) {
		return Invalid(field, "must be UTF-8 text of at most %d bytes without control characters", maxLen)
	}
	return nil
}

// foldASCII returns s with its ASCII letters in lower case.
func foldASCII(s string) string {
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

// canonicalCourseKey returns the one form of a course id or slug that
// cache keys use, the one writes invalidate: a UUID in any form uuid.Parse
// accepts (upper case, braces, urn:uuid:, no hyphens) becomes its lower-case
// hyphenated form; a slug is already canonical (lower case only). ok is
// false when key can be neither.
func canonicalCourseKey(key string) (canonical string, ok bool) {
	if len(key) == 0 || len(key) > 80 {
		return "", false
	}
	if id, err := uuid.Parse(key); err == nil {
		return id.String(), true
	}
	return key, slugRE.MatchString(key)
}

func summary(c Course) CourseSummary { return CourseSummary{ID: c.ID, Slug: c.Slug, Title: c.Title} }

// cachedJSON returns the JSON encoding of the value at key in the cache,
// or loads, encodes, stores and returns it.
func cachedJSON[T any](ctx context.Context, s *Service, key string, ttl time.Duration, load func(ctx context.Context) (T, error)) ([]byte, error) {
	if b, ok := s.cache.Get(ctx, key); ok {
		return b, nil
	}
	v, err := load(ForCacheFill(ctx))
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	s.cache.Set(ctx, key, b, ttl)
	return b, nil
}

// cached returns the value at key in the cache, or loads, stores and
// returns it. Errors are never cached.
func cached[T any](ctx context.Context, s *Service, key string, ttl time.Duration, load func(ctx context.Context) (T, error)) (T, error) {
	if b, ok := s.cache.Get(ctx, key); ok {
		var v T
		if json.Unmarshal(b, &v) == nil {
			return v, nil
		}
	}
	v, err := load(ForCacheFill(ctx))
	if err != nil {
		return v, err
	}
	if b, err := json.Marshal(v); err == nil {
		s.cache.Set(ctx, key, b, ttl)
	}
	return v, nil
}

type noCache struct{}

func (noCache) Get(context.Context, string) ([]byte, bool)         { return nil, false }
func (noCache) Set(context.Context, string, []byte, time.Duration) {}
func (noCache) Delete(context.Context, ...string)                  {}
func (noCache) Clear(context.Context)                              {}
