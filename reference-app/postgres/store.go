package postgres

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

// ---- users ----

// CreateUser implements academy.Users.
func (db *DB) CreateUser(ctx context.Context, u academy.UserRecord) error {
	if db.byRegion {
		if err := db.createDirectoryEntry(ctx, u); err != nil {
			return err
		}
	}
	_, err := db.userShard(u.ID).Exec(ctx,
		`INSERT INTO users (id, email, name, role, password_hash, created_at, region) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		u.ID, u.Email, u.Name, string(u.Role), u.PasswordHash, u.CreatedAt, u.Region)
	if code, _ := pgCode(err); code == "23505" {
		return academy.ErrEmailTaken
	}
	if err != nil && db.byRegion { // no account without its row: the e-mail may register again
		_, _ = db.catalog().Exec(context.WithoutCancel(ctx), `DELETE FROM user_regions WHERE user_id = $1`, u.ID)
		db.regions.Delete(u.ID)
	}
	return dbErr("create user", err)
}

// UserByID implements academy.Users.
func (db *DB) UserByID(ctx context.Context, id uuid.UUID) (academy.UserRecord, error) {
	var u academy.UserRecord
	var role string
	var secret *string
	err := db.userShard(id).QueryRow(ctx,
		`SELECT id, email, name, role, password_hash, created_at, totp_secret, totp_enabled, totp_last_step, region FROM users WHERE id = $1`, id).
		Scan(&u.ID, &u.Email, &u.Name, &role, &u.PasswordHash, &u.CreatedAt, &secret, &u.TOTPEnabled, &u.TOTPLastStep, &u.Region)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, academy.ErrNotFound
	}
	if secret != nil {
		u.TOTPSecret = *secret
	}
	u.Role = academy.Role(role)
	return u, dbErr("read user", err)
}

// CreateSession implements academy.Users.
func (db *DB) CreateSession(ctx context.Context, userID, sessionID uuid.UUID, hash []byte, now, expires time.Time) error {
	return pgx.BeginFunc(ctx, db.userShard(userID), func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO sessions (id, user_id, created_at) VALUES ($1, $2, $3)`, sessionID, userID, now); err != nil {
			return dbErr("create session", err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (token_hash, user_id, session_id, expires_at) VALUES ($1, $2, $3, $4)`,
			hash, userID, sessionID, expires)
		return dbErr("save refresh token", err)
	})
}

// RotateRefreshToken implements academy.Users. The presented token's row is
// locked (FOR UPDATE), so of two concurrent refreshes with one token, one
// rotates and the other sees a used token and revokes the session.
func (db *DB) RotateRefreshToken(ctx context.Context, userID uuid.UUID, hash, next []byte, now, expires time.Time) (uuid.UUID, error) {
	var sessionID uuid.UUID
	reused := false
	err := pgx.BeginFunc(ctx, db.userShard(userID), func(tx pgx.Tx) error {
		var usedAt, revokedAt *time.Time
		var expiresAt time.Time
		err := tx.QueryRow(ctx, `SELECT t.session_id, t.used_at, t.expires_at, s.revoked_at
			FROM refresh_tokens t JOIN sessions s ON s.id = t.session_id
			WHERE t.token_hash = $1 AND t.user_id = $2 FOR UPDATE OF t, s`, hash, userID).
			Scan(&sessionID, &usedAt, &expiresAt, &revokedAt)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return academy.ErrInvalidToken
		case err != nil:
			return dbErr("read refresh token", err)
		case revokedAt != nil || !now.Before(expiresAt):
			return academy.ErrInvalidToken
		case usedAt != nil:
			reused = true
			_, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $2 WHERE id = $1`, sessionID, now)
			return dbErr("revoke session", err)
		}
		if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = $2 WHERE token_hash = $1`, hash, now); err != nil {
			return dbErr("use refresh token", err)
		}
		// Used tokens are kept (to detect their reuse) until they expire.
		if _, err := tx.Exec(ctx, `DELETE FROM refresh_tokens WHERE user_id = $1 AND expires_at < $2`, userID, now); err != nil {
			return dbErr("drop expired refresh tokens", err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO refresh_tokens (token_hash, user_id, session_id, expires_at) VALUES ($1, $2, $3, $4)`,
			next, userID, sessionID, expires)
		return dbErr("save refresh token", err)
	})
	if err == nil && reused {
		err = academy.ErrRefreshTokenReused
	}
	return sessionID, err
}

// RevokeSession implements academy.Users.
func (db *DB) RevokeSession(ctx context.Context, userID, sessionID uuid.UUID, now time.Time) error {
	tag, err := db.userShard(userID).Exec(ctx,
		`UPDATE sessions SET revoked_at = coalesce(revoked_at, $3) WHERE id = $1 AND user_id = $2`, sessionID, userID, now)
	if err != nil {
		return dbErr("revoke session", err)
	}
	if tag.RowsAffected() == 0 {
		return academy.ErrInvalidToken
	}
	return nil
}

// SessionActive implements academy.Users.
func (db *DB) SessionActive(ctx context.Context, userID, sessionID uuid.UUID) (bool, error) {
	var active bool
	err := db.userShard(userID).QueryRow(ctx,
		`SELECT revoked_at IS NULL FROM sessions WHERE id = $1 AND user_id = $2`, sessionID, userID).Scan(&active)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	return active, dbErr("read session", err)
}

// ---- catalog ----

const courseColumns = `id, slug, title, description, category, instructor_id, capacity, seats_taken, lesson_count, created_at, updated_at`

func scanCourse(r pgx.Row) (academy.Course, error) {
	var c academy.Course
	err := r.Scan(&c.ID, &c.Slug, &c.Title, &c.Description, &c.Category, &c.InstructorID, &c.Capacity, &c.SeatsTaken, &c.LessonCount, &c.CreatedAt, &c.UpdatedAt)
	return c, err
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// ListCourses implements academy.Catalog.
func (db *DB) ListCourses(ctx context.Context, f academy.CourseFilter) (academy.CoursePage, error) {
	page := academy.CoursePage{Courses: []academy.Course{}, Limit: f.Limit, Offset: f.Offset}
	pattern := ""
	if f.Query != "" {
		pattern = "%" + likeEscaper.Replace(f.Query) + "%"
	}
	rows, err := db.catalogReader(ctx).Query(ctx, `SELECT `+courseColumns+`, count(*) OVER () FROM courses
		WHERE ($1 = '' OR category = $1) AND ($2 = '' OR title ILIKE $2 OR description ILIKE $2)
		ORDER BY created_at, id LIMIT $3 OFFSET $4`, f.Category, pattern, f.Limit, f.Offset)
	if err != nil {
		return page, dbErr("list courses", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c academy.Course
		if err := rows.Scan(&c.ID, &c.Slug, &c.Title, &c.Description, &c.Category, &c.InstructorID, &c.Capacity, &c.SeatsTaken, &c.LessonCount, &c.CreatedAt, &c.UpdatedAt, &page.Total); err != nil {
			return page, dbErr("list courses", err)
		}
		page.Courses = append(page.Courses, c)
	}
	if err := rows.Err(); err != nil {
		return page, dbErr("list courses", err)
	}
	if len(page.Courses) == 0 && f.Offset > 0 {
		err := db.catalogReader(ctx).QueryRow(ctx, `SELECT count(*) FROM courses
			WHERE ($1 = '' OR category = $1) AND ($2 = '' OR title ILIKE $2 OR description ILIKE $2)`, f.Category, pattern).Scan(&page.Total)
		if err != nil {
			return page, dbErr("count courses", err)
		}
	}
	return page, nil
}

// Course implements academy.Catalog.
func (db *DB) Course(ctx context.Context, key string) (academy.Course, error) {
	var row pgx.Row
	if id, err := uuid.Parse(key); err == nil {
		row = db.catalogReader(ctx).QueryRow(ctx, `SELECT `+courseColumns+` FROM courses WHERE id = $1`, id)
	} else {
		row = db.catalogReader(ctx).QueryRow(ctx, `SELECT `+courseColumns+` FROM courses WHERE slug = $1`, key)
	}
	c, err := scanCourse(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, academy.ErrCourseNotFound
	}
	return c, dbErr("read course", err)
}

// CreateCourse implements academy.Catalog.
func (db *DB) CreateCourse(ctx context.Context, c academy.Course) (academy.Course, error) {
	out, err := scanCourse(db.catalog().QueryRow(ctx, `INSERT INTO courses
		(id, slug, title, description, category, instructor_id, capacity, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING `+courseColumns,
		c.ID, c.Slug, c.Title, c.Description, c.Category, c.InstructorID, c.Capacity, c.CreatedAt, c.UpdatedAt))
	if code, _ := pgCode(err); code == "23505" {
		return out, academy.ErrSlugTaken
	}
	if err == nil {
		db.wrote(ctx, 0)
	}
	return out, dbErr("create course", err)
}

// UpdateCourse implements academy.Catalog.
func (db *DB) UpdateCourse(ctx context.Context, id uuid.UUID, p academy.CoursePatch) (academy.Course, error) {
	out, err := scanCourse(db.catalog().QueryRow(ctx, `UPDATE courses SET
		title = COALESCE($2, title), description = COALESCE($3, description),
		category = COALESCE($4, category), capacity = COALESCE($5, capacity), updated_at = now()
		WHERE id = $1 RETURNING `+courseColumns, id, p.Title, p.Description, p.Category, p.Capacity))
	if errors.Is(err, pgx.ErrNoRows) {
		return out, academy.ErrCourseNotFound
	}
	if code, _ := pgCode(err); code == "23514" {
		return out, academy.ErrCapacityTooLow
	}
	if err == nil {
		db.wrote(ctx, 0)
	}
	return out, dbErr("update course", err)
}

const lessonColumns = `id, course_id, position, title, body, duration_seconds, quiz_answers`

func scanLesson(r pgx.Row) (academy.Lesson, error) {
	var l academy.Lesson
	var answers []int32
	err := r.Scan(&l.ID, &l.CourseID, &l.Position, &l.Title, &l.Body, &l.DurationSeconds, &answers)
	l.QuizAnswers = make([]int, len(answers))
	for i, a := range answers {
		l.QuizAnswers[i] = int(a)
	}
	l.QuizQuestions = len(answers)
	return l, err
}

// Lessons implements academy.Catalog.
func (db *DB) Lessons(ctx context.Context, courseID uuid.UUID) ([]academy.Lesson, error) {
	rows, err := db.catalogReader(ctx).Query(ctx, `SELECT `+lessonColumns+` FROM lessons WHERE course_id = $1 ORDER BY position`, courseID)
	if err != nil {
		return nil, dbErr("list lessons", err)
	}
	ls, err := collect(rows, func(r pgx.Rows) (academy.Lesson, error) { return scanLesson(r) })
	return ls, dbErr("list lessons", err)
}

// Lesson implements academy.Catalog.
func (db *DB) Lesson(ctx context.Context, id uuid.UUID) (academy.Lesson, error) {
	l, err := scanLesson(db.catalogReader(ctx).QueryRow(ctx, `SELECT `+lessonColumns+` FROM lessons WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return l, academy.ErrLessonNotFound
	}
	return l, dbErr("read lesson", err)
}

// ---- enrollments ----

// Enroll implements academy.Enrollments.
//
// The seat is taken in one transaction on the catalog shard: a claim row
// (one per course and user, primary key) and the increment of the course's
// seat counter guarded by `seats_taken < capacity`, in one statement (see
// enrollSQL). Concurrent claims of the same course serialise on the course
// row, whose guard PostgreSQL re-checks after the lock; a CHECK constraint
// backs it. The enrollment row on the user's shard is written in the same
// statement when it is the catalog shard, and right after the commit
// otherwise (an idempotent upsert that any retry repeats). Two round trips:
// BEGIN and the statement in one batch, then COMMIT or ROLLBACK.
func (db *DB) Enroll(ctx context.Context, userID, courseID uuid.UUID, key string) (academy.EnrollResult, error) {
	res := academy.EnrollResult{Enrollment: academy.Enrollment{UserID: userID, CourseID: courseID}}
	var keyArg *string
	if key != "" {
		keyArg = &key
	}
	sameShard := db.userShard(userID) == db.catalog()
	claimed, seated, err := db.claimSeat(ctx, courseID, userID, keyArg, sameShard, &res.CreatedAt)
	if code, constraint := pgCode(err); code == "23505" && constraint == "seat_claims_idempotency" {
		// The key's index is no arbiter of ON CONFLICT: a concurrent retry
		// with the same key that claimed first makes this insert fail there
		// instead of doing nothing. A reuse only if the key claimed another course.
		var other uuid.UUID
		qerr := db.catalog().QueryRow(ctx, `SELECT course_id FROM seat_claims WHERE user_id = $1 AND idempotency_key = $2`, userID, key).Scan(&other)
		if qerr != nil && !errors.Is(qerr, pgx.ErrNoRows) {
			return res, dbErr("enroll", qerr)
		}
		if qerr == nil && other != courseID {
			return res, academy.ErrIdempotencyReuse
		}
		claimed, seated, err = false, false, nil // the existing claim decides, below
	}
	switch code, constraint := pgCode(err); {
	case code == "23505" && constraint == "seat_claims_idempotency":
		return res, academy.ErrIdempotencyReuse
	case code == "23503":
		return res, academy.ErrCourseNotFound
	case code == "23514":
		return res, academy.ErrCourseFull
	case err != nil:
		return res, dbErr("enroll", err)
	case claimed && !seated:
		return res, academy.ErrCourseFull
	case !claimed:
		// Existing claim: a replay if it was made with the same key.
		var existing *string
		err := db.catalog().QueryRow(ctx, `SELECT idempotency_key, created_at FROM seat_claims WHERE course_id = $1 AND user_id = $2`,
			courseID, userID).Scan(&existing, &res.CreatedAt)
		if errors.Is(err, pgx.ErrNoRows) { // unenrolled meanwhile
			return res, &academy.Error{Kind: academy.KindUnavailable, Code: "enrollment_changed", Message: "enrollment changed concurrently; retry"}
		}
		if err != nil {
			return res, dbErr("enroll", err)
		}
		if key != "" && existing != nil && *existing == key {
			res.Created, res.Replayed = true, true
		}
	default:
		res.Created = true
	}
	db.wrote(ctx, 0)
	if !sameShard {
		// Also repairs a row lost by a crash between the two writes.
		if _, err := db.userShard(userID).Exec(ctx, `INSERT INTO enrollments (user_id, course_id, created_at) VALUES ($1, $2, $3)
			ON CONFLICT DO NOTHING`, userID, courseID, res.CreatedAt); err != nil {
			return res, dbErr("record enrollment on user shard", err)
		}
		db.wrote(ctx, db.shardIndex(userID))
	}
	return res, nil
}

// enrollSQL claims a seat: it inserts the claim, takes a seat only if the
// claim is new and one is left, and (when $4) records the enrollment.
// It returns the claim's time (NULL when the claim existed) and whether a
// seat was taken. A new claim without a seat must be rolled back.
const enrollSQL = `WITH claim AS (
	INSERT INTO seat_claims (course_id, user_id, idempotency_key) VALUES ($1, $2, $3)
	ON CONFLICT (course_id, user_id) DO NOTHING RETURNING created_at
), seat AS (
	UPDATE courses SET seats_taken = seats_taken + 1
	WHERE id = $1 AND seats_taken < capacity AND EXISTS (SELECT 1 FROM claim)
	RETURNING 1
), enrollment AS (
	INSERT INTO enrollments (user_id, course_id, created_at)
	SELECT $2, $1, created_at FROM claim WHERE $4::bool AND EXISTS (SELECT 1 FROM seat)
	ON CONFLICT DO NOTHING RETURNING 1
)
SELECT (SELECT created_at FROM claim), EXISTS (SELECT 1 FROM seat), (SELECT count(*) FROM enrollment)`

func (db *DB) claimSeat(ctx context.Context, courseID, userID uuid.UUID, key *string, sameShard bool, created *time.Time) (claimed, seated bool, err error) {
	conn, err := db.catalog().Acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer conn.Release()
	var b pgx.Batch
	b.Queue("BEGIN")
	var at *time.Time
	var n int64
	b.Queue(enrollSQL, courseID, userID, key, sameShard).QueryRow(func(r pgx.Row) error {
		return r.Scan(&at, &seated, &n)
	})
	err = conn.SendBatch(ctx, &b).Close()
	end := "COMMIT"
	if err != nil || (at != nil && !seated) {
		end = "ROLLBACK"
	}
	if _, cerr := conn.Exec(context.WithoutCancel(ctx), end); cerr != nil {
		// The connection's state is unknown: close it so the pool drops it.
		_ = conn.Conn().Close(context.WithoutCancel(ctx))
		if err == nil {
			err = cerr
		}
	}
	if err != nil {
		return false, false, err
	}
	if at != nil {
		*created = *at
	}
	return at != nil, seated, nil
}

// Unenroll implements academy.Enrollments.
func (db *DB) Unenroll(ctx context.Context, userID, courseID uuid.UUID) error {
	sameShard := db.userShard(userID) == db.catalog()
	err := pgx.BeginFunc(ctx, db.catalog(), func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM seat_claims WHERE course_id = $1 AND user_id = $2`, courseID, userID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return academy.ErrEnrollmentMissing
		}
		if _, err := tx.Exec(ctx, `UPDATE courses SET seats_taken = seats_taken - 1 WHERE id = $1`, courseID); err != nil {
			return err
		}
		if sameShard {
			_, err = tx.Exec(ctx, `DELETE FROM enrollments WHERE user_id = $1 AND course_id = $2`, userID, courseID)
		}
		return err
	})
	if err != nil {
		return dbErr("unenroll", err)
	}
	db.wrote(ctx, 0)
	if !sameShard {
		if _, err := db.userShard(userID).Exec(ctx, `DELETE FROM enrollments WHERE user_id = $1 AND course_id = $2`, userID, courseID); err != nil {
			return dbErr("delete enrollment on user shard", err)
		}
		db.wrote(ctx, db.shardIndex(userID))
	}
	return nil
}

// Enrollment implements academy.Enrollments. It reads the seat ledger,
// the source of truth.
func (db *DB) Enrollment(ctx context.Context, userID, courseID uuid.UUID) (academy.Enrollment, error) {
	e := academy.Enrollment{UserID: userID, CourseID: courseID}
	err := db.catalogReader(ctx).QueryRow(ctx, `SELECT created_at FROM seat_claims WHERE course_id = $1 AND user_id = $2`, courseID, userID).Scan(&e.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return e, academy.ErrEnrollmentMissing
	}
	return e, dbErr("read enrollment", err)
}

// Enrollments implements academy.Enrollments (from the user's shard).
func (db *DB) Enrollments(ctx context.Context, userID uuid.UUID) ([]academy.Enrollment, error) {
	rows, err := db.userReader(ctx, userID).Query(ctx, `SELECT user_id, course_id, created_at FROM enrollments WHERE user_id = $1 ORDER BY created_at, course_id`, userID)
	if err != nil {
		return nil, dbErr("list enrollments", err)
	}
	es, err := collect(rows, func(r pgx.Rows) (academy.Enrollment, error) {
		var e academy.Enrollment
		return e, r.Scan(&e.UserID, &e.CourseID, &e.CreatedAt)
	})
	if es == nil {
		es = []academy.Enrollment{}
	}
	return es, dbErr("list enrollments", err)
}

// ---- learning ----

const progressColumns = `user_id, lesson_id, course_id, percent, completed_at, updated_at`

func scanProgress(r pgx.Row) (academy.LessonProgress, error) {
	var p academy.LessonProgress
	err := r.Scan(&p.UserID, &p.LessonID, &p.CourseID, &p.Percent, &p.CompletedAt, &p.UpdatedAt)
	return p, err
}

// SaveProgress implements academy.Learning: one upsert that keeps the
// greater percent and the first completion time.
func (db *DB) SaveProgress(ctx context.Context, p academy.LessonProgress) (academy.LessonProgress, error) {
	out, err := scanProgress(db.userShard(p.UserID).QueryRow(ctx, `INSERT INTO lesson_progress AS lp
		(user_id, lesson_id, course_id, percent, completed_at, updated_at)
		VALUES ($1, $2, $3, $4::int, CASE WHEN $4::int = 100 THEN $5::timestamptz END, $5::timestamptz)
		ON CONFLICT (user_id, lesson_id) DO UPDATE SET
			percent = GREATEST(lp.percent, EXCLUDED.percent),
			completed_at = COALESCE(lp.completed_at, EXCLUDED.completed_at),
			updated_at = CASE WHEN EXCLUDED.percent > lp.percent THEN EXCLUDED.updated_at ELSE lp.updated_at END
		RETURNING `+progressColumns, p.UserID, p.LessonID, p.CourseID, p.Percent, p.UpdatedAt))
	if err == nil {
		db.wrote(ctx, db.shardIndex(p.UserID))
	}
	return out, dbErr("save progress", err)
}

// Progress implements academy.Learning.
func (db *DB) Progress(ctx context.Context, userID, courseID uuid.UUID) ([]academy.LessonProgress, error) {
	rows, err := db.userReader(ctx, userID).Query(ctx, `SELECT `+progressColumns+` FROM lesson_progress
		WHERE user_id = $1 AND course_id = $2 ORDER BY lesson_id`, userID, courseID)
	if err != nil {
		return nil, dbErr("read progress", err)
	}
	ps, err := collect(rows, func(r pgx.Rows) (academy.LessonProgress, error) { return scanProgress(r) })
	return ps, dbErr("read progress", err)
}

// AllProgress implements academy.Learning.
func (db *DB) AllProgress(ctx context.Context, userID uuid.UUID) ([]academy.LessonProgress, error) {
	rows, err := db.userReader(ctx, userID).Query(ctx, `SELECT `+progressColumns+` FROM lesson_progress
		WHERE user_id = $1 ORDER BY course_id, lesson_id`, userID)
	if err != nil {
		return nil, dbErr("read progress", err)
	}
	ps, err := collect(rows, func(r pgx.Rows) (academy.LessonProgress, error) { return scanProgress(r) })
	return ps, dbErr("read progress", err)
}

// AddQuizAttempt implements academy.Learning. Attempts of one user at one
// lesson serialise on a transaction-scoped advisory lock, so that the count
// checked is the count the insert extends.
func (db *DB) AddQuizAttempt(ctx context.Context, a academy.QuizAttempt, limit int) error {
	err := pgx.BeginFunc(ctx, db.userShard(a.UserID), func(tx pgx.Tx) error {
		if limit > 0 {
			var n int
			if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('quiz:' || $1::text || ':' || $2::text, 0))`, a.UserID, a.LessonID); err != nil {
				return err
			}
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM quiz_attempts WHERE user_id = $1 AND lesson_id = $2`, a.UserID, a.LessonID).Scan(&n); err != nil {
				return err
			}
			if n >= limit {
				return academy.ErrQuizExhausted
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO quiz_attempts (id, user_id, lesson_id, course_id, score, max_score, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, a.ID, a.UserID, a.LessonID, a.CourseID, a.Score, a.MaxScore, a.CreatedAt)
		return err
	})
	if err == nil {
		db.wrote(ctx, db.shardIndex(a.UserID))
	}
	return dbErr("save quiz attempt", err)
}

// Grades implements academy.Learning.
func (db *DB) Grades(ctx context.Context, userID uuid.UUID) ([]academy.Grade, error) {
	rows, err := db.userReader(ctx, userID).Query(ctx, `SELECT course_id, lesson_id, max(score), max(max_score), count(*)
		FROM quiz_attempts WHERE user_id = $1 GROUP BY course_id, lesson_id ORDER BY course_id, lesson_id`, userID)
	if err != nil {
		return nil, dbErr("read grades", err)
	}
	gs, err := collect(rows, func(r pgx.Rows) (academy.Grade, error) {
		var g academy.Grade
		return g, r.Scan(&g.CourseID, &g.LessonID, &g.BestScore, &g.MaxScore, &g.Attempts)
	})
	if gs == nil {
		gs = []academy.Grade{}
	}
	return gs, dbErr("read grades", err)
}

// ---- live ----

// LiveSessions implements academy.Live.
func (db *DB) LiveSessions(ctx context.Context) ([]academy.LiveSession, error) {
	rows, err := db.catalogReader(ctx).Query(ctx, `SELECT id, course_id, title, starts_at, capacity FROM live_sessions ORDER BY starts_at, id LIMIT 1000`)
	if err != nil {
		return nil, dbErr("list live sessions", err)
	}
	ls, err := collect(rows, scanLive)
	return ls, dbErr("list live sessions", err)
}

func scanLive(r pgx.Rows) (academy.LiveSession, error) {
	var l academy.LiveSession
	return l, r.Scan(&l.ID, &l.CourseID, &l.Title, &l.StartsAt, &l.Capacity)
}

// LiveSession implements academy.Live.
func (db *DB) LiveSession(ctx context.Context, id uuid.UUID) (academy.LiveSession, error) {
	var l academy.LiveSession
	err := db.catalogReader(ctx).QueryRow(ctx, `SELECT id, course_id, title, starts_at, capacity FROM live_sessions WHERE id = $1`, id).
		Scan(&l.ID, &l.CourseID, &l.Title, &l.StartsAt, &l.Capacity)
	if errors.Is(err, pgx.ErrNoRows) {
		return l, &academy.Error{Kind: academy.KindNotFound, Code: "live_session_not_found", Message: "live session not found"}
	}
	return l, dbErr("read live session", err)
}

// ---- admin ----

var allTables = []string{"user_regions", "users", "refresh_tokens", "sessions", "recovery_codes", "api_keys", "courses", "lessons", "seat_claims", "enrollments", "lesson_progress", "quiz_attempts", "live_sessions"}

// Reset implements academy.Admin: it truncates every table on every shard.
func (db *DB) Reset(ctx context.Context) error {
	db.regions.Clear()
	for _, p := range db.shards {
		if _, err := p.Exec(ctx, "TRUNCATE "+strings.Join(allTables, ", ")); err != nil {
			return dbErr("reset", err)
		}
	}
	return nil
}

// Empty implements academy.Admin.
func (db *DB) Empty(ctx context.Context) (bool, error) {
	for _, p := range db.shards {
		var exists bool
		if err := p.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM users)`).Scan(&exists); err != nil {
			return false, dbErr("check for users", err)
		}
		if exists {
			return false, nil
		}
	}
	return true, nil
}

// Seed implements academy.Admin with COPY.
func (db *DB) Seed(ctx context.Context, d academy.SeedData) error {
	perShard := make([][][]any, len(db.shards))
	for _, u := range d.Users {
		i := db.seedShardOf(u)
		perShard[i] = append(perShard[i], []any{u.ID, u.Email, u.Name, string(u.Role), u.PasswordHash, u.CreatedAt, u.Region})
	}
	for i, rows := range perShard {
		if _, err := db.shards[i].CopyFrom(ctx, pgx.Identifier{"users"},
			[]string{"id", "email", "name", "role", "password_hash", "created_at", "region"}, pgx.CopyFromRows(rows)); err != nil {
			return dbErr("seed users", err)
		}
	}
	if db.byRegion {
		db.regions.Clear()
		if err := db.seedDirectory(ctx, d.Users); err != nil {
			return err
		}
	}
	return pgx.BeginFunc(ctx, db.catalog(), func(tx pgx.Tx) error {
		courses := make([][]any, len(d.Courses))
		for i, c := range d.Courses {
			courses[i] = []any{c.ID, c.Slug, c.Title, c.Description, c.Category, c.InstructorID, c.Capacity, c.LessonCount, c.CreatedAt, c.UpdatedAt}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"courses"}, []string{"id", "slug", "title", "description", "category", "instructor_id", "capacity", "lesson_count", "created_at", "updated_at"}, pgx.CopyFromRows(courses)); err != nil {
			return dbErr("seed courses", err)
		}
		lessons := make([][]any, len(d.Lessons))
		for i, l := range d.Lessons {
			answers := make([]int32, len(l.QuizAnswers))
			for j, a := range l.QuizAnswers {
				answers[j] = int32(a)
			}
			lessons[i] = []any{l.ID, l.CourseID, l.Position, l.Title, l.Body, l.DurationSeconds, answers}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"lessons"}, []string{"id", "course_id", "position", "title", "body", "duration_seconds", "quiz_answers"}, pgx.CopyFromRows(lessons)); err != nil {
			return dbErr("seed lessons", err)
		}
		live := make([][]any, len(d.LiveSessions))
		for i, l := range d.LiveSessions {
			live[i] = []any{l.ID, l.CourseID, l.Title, l.StartsAt, l.Capacity}
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"live_sessions"}, []string{"id", "course_id", "title", "starts_at", "capacity"}, pgx.CopyFromRows(live)); err != nil {
			return dbErr("seed live sessions", err)
		}
		return nil
	})
}

// seedLock is the advisory lock key of Exclusive ("seeding" in ASCII).
const seedLock = 0x73656564696e67

// Exclusive implements academy.Admin with a session-level advisory lock
// on the catalog shard.
func (db *DB) Exclusive(ctx context.Context, fn func(ctx context.Context) error) error {
	conn, err := db.catalog().Acquire(ctx)
	if err != nil {
		return dbErr("acquire lock connection", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(seedLock)); err != nil {
		return dbErr("take seed lock", err)
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(seedLock)); err != nil {
			_ = conn.Conn().Close(context.WithoutCancel(ctx)) // closing releases the lock
		}
	}()
	return fn(ctx)
}
