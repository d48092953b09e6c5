package verify

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/trendtactics/loadlab/result"
)

// Names of the checks (scenarios.KnownVerifications).
const (
	EnrollmentsDurable = "enrollments-durable"
	SeatsNeverOversold = "seats-never-oversold"
	ProgressMonotonic  = "progress-monotonic"
)

// maxSamples bounds the sample keys a check reports.
const maxSamples = 5

// Input is what Check compares the state with.
type Input struct {
	Checks     []string       // the scenario's verify: list
	Writes     []result.Write // the run's recorded writes
	Unrecorded uint64         // writes the log could not keep
	Since      time.Time      // the run's start: claims older than this are not the run's
}

// WaitReady polls baseURL/readyz until it answers 200 or timeout passes; it returns how
// long that took.
func WaitReady(ctx context.Context, baseURL string, timeout time.Duration) (time.Duration, error) {
	return WaitReadyTLS(ctx, baseURL, nil, timeout)
}

// WaitReadyTLS is WaitReady for an https service whose certificate the PEM CA certificates
// caPEM signed (nil: the system's CAs), such as a lab's throwaway CA.
func WaitReadyTLS(ctx context.Context, baseURL string, caPEM []byte, timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	if len(caPEM) > 0 {
		roots := x509.NewCertPool()
		if !roots.AppendCertsFromPEM(caPEM) {
			return 0, errors.New("readyz: no CA certificate in the PEM to trust")
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
		defer client.CloseIdleConnections()
	}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(baseURL, "/")+"/readyz", nil)
		if err != nil {
			return 0, fmt.Errorf("readyz: %w", err)
		}
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		select {
		case <-ctx.Done():
			return time.Since(start), fmt.Errorf("the service did not answer /readyz 200 within %s", timeout)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Check reads the state from the database at databaseURL and runs in.Checks.
// It never returns nil; a state that cannot be read is a failed verification with Error set.
func Check(ctx context.Context, databaseURL string, in Input) *result.VerificationResult {
	res := &result.VerificationResult{Source: "database", Writes: count(in.Writes, in.Unrecorded)}
	if databaseURL == "" {
		res.Error = "no database to read the state from: run in a lab, or pass --verify-database URL"
		return res
	}
	conn, err := connect(ctx, databaseURL)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, name := range in.Checks {
		var c result.VerificationCheck
		var err error
		switch name {
		case EnrollmentsDurable:
			c, err = enrollments(ctx, conn, in)
		case SeatsNeverOversold:
			c, err = seats(ctx, conn)
		case ProgressMonotonic:
			c, err = progress(ctx, conn)
		case ReadsSeeOwnWrites:
			c = OwnReads(in)
		default:
			err = fmt.Errorf("unknown check %q", name)
		}
		c.Name = name
		if err != nil {
			c.Pass, c.Detail = false, "could not read the state: "+err.Error()
		}
		res.Checks = append(res.Checks, c)
	}
	res.Pass = res.Error == ""
	for _, c := range res.Checks {
		res.Pass = res.Pass && c.Pass
	}
	return res
}

// connect opens one connection, retrying for a while: a database that just restarted may
// still be recovering.
func connect(ctx context.Context, url string) (*pgx.Conn, error) {
	deadline := time.Now().Add(15 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := pgx.Connect(cctx, url)
		cancel()
		if err == nil {
			return conn, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("connect to the database: %w", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func count(ws []result.Write, unrecorded uint64) result.WriteCounts {
	c := result.WriteCounts{Unrecorded: unrecorded}
	for _, w := range ws {
		if w.Read {
			c.Reads++
			continue
		}
		c.Total++
		switch w.Outcome {
		case result.OutcomeOK:
			c.OK++
		case result.OutcomeFailed:
			c.Failed++
		default:
			c.Unknown++
		}
	}
	return c
}

// CoursePath returns the course of an enrollment write's path /v1/courses/{course}/enrollments.
func CoursePath(path string) (string, bool) { return courseIn(path, "enrollments") }

// courseIn returns the course of a path /v1/courses/{course}/TAIL.
func courseIn(path, tail string) (string, bool) {
	rest, ok := strings.CutPrefix(path, "/v1/courses/")
	if !ok {
		return "", false
	}
	course, t, ok := strings.Cut(rest, "/")
	return course, ok && t == tail && course != ""
}

// enrollments reads the seat claims and enrollment rows of the run's users and classifies
// the run's writes against them (Enrollments). Courses may be named by slug or id in the
// URL: every row carries both.
func enrollments(ctx context.Context, conn *pgx.Conn, in Input) (result.VerificationCheck, error) {
	var st State
	ids := runUsers(in.Writes)
	rows, err := conn.Query(ctx, `SELECT c.slug, c.id::text, s.user_id::text, coalesce(s.idempotency_key, ''), s.created_at
		FROM seat_claims s JOIN courses c ON c.id = s.course_id WHERE s.user_id::text = ANY($1)`, ids)
	if err != nil {
		return result.VerificationCheck{}, fmt.Errorf("read seat claims: %w", err)
	}
	st.Claims, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Claim, error) {
		var cl Claim
		err := r.Scan(&cl.Course, &cl.CourseID, &cl.User, &cl.Key, &cl.CreatedAt)
		return cl, err
	})
	if err != nil {
		return result.VerificationCheck{}, fmt.Errorf("read seat claims: %w", err)
	}
	rows, err = conn.Query(ctx, `SELECT e.user_id::text, c.slug, c.id::text FROM enrollments e JOIN courses c ON c.id = e.course_id
		WHERE e.user_id::text = ANY($1)`, ids)
	if err != nil {
		return result.VerificationCheck{}, fmt.Errorf("read enrollments: %w", err)
	}
	st.Enrollments, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (Enrollment, error) {
		var e Enrollment
		err := r.Scan(&e.User, &e.Course, &e.CourseID)
		return e, err
	})
	if err != nil {
		return result.VerificationCheck{}, fmt.Errorf("read enrollments: %w", err)
	}
	return Enrollments(in, st), nil
}

func seats(ctx context.Context, conn *pgx.Conn) (result.VerificationCheck, error) {
	var c result.VerificationCheck
	rows, err := conn.Query(ctx, `SELECT c.slug, c.capacity, c.seats_taken,
		(SELECT count(*) FROM seat_claims s WHERE s.course_id = c.id) FROM courses c ORDER BY c.slug`)
	if err != nil {
		return c, fmt.Errorf("read courses: %w", err)
	}
	defer rows.Close()
	var bad []string
	full := 0
	for rows.Next() {
		var slug string
		var capacity, taken int
		var claims int64
		if err := rows.Scan(&slug, &capacity, &taken, &claims); err != nil {
			return c, fmt.Errorf("read courses: %w", err)
		}
		c.Checked++
		if taken >= capacity {
			full++
		}
		switch {
		case taken > capacity:
			c.Violations++
			bad = append(bad, fmt.Sprintf("%s: %d seats taken of %d", slug, taken, capacity))
		case int64(taken) != claims:
			c.Violations++
			bad = append(bad, fmt.Sprintf("%s: seats_taken %d but %d claims", slug, taken, claims))
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("read courses: %w", err)
	}
	c.Pass = c.Violations == 0
	c.Samples = samples(bad)
	c.Detail = fmt.Sprintf("%d courses, %d full", c.Checked, full)
	return c, nil
}

func progress(ctx context.Context, conn *pgx.Conn) (result.VerificationCheck, error) {
	var c result.VerificationCheck
	rows, err := conn.Query(ctx, `SELECT user_id::text, lesson_id::text, percent, completed_at IS NOT NULL,
		coalesce(completed_at <= updated_at, true) FROM lesson_progress`)
	if err != nil {
		return c, fmt.Errorf("read progress: %w", err)
	}
	defer rows.Close()
	var bad []string
	for rows.Next() {
		var user, lesson string
		var pct int
		var completed, ordered bool
		if err := rows.Scan(&user, &lesson, &pct, &completed, &ordered); err != nil {
			return c, fmt.Errorf("read progress: %w", err)
		}
		c.Checked++
		if pct < 0 || pct > 100 || completed != (pct == 100) || !ordered {
			c.Violations++
			bad = append(bad, fmt.Sprintf("user %s lesson %s: %d%%, completed %v", user, lesson, pct, completed))
		}
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("read progress: %w", err)
	}
	c.Pass = c.Violations == 0
	c.Samples = samples(bad)
	c.Detail = fmt.Sprintf("%d progress rows: percent in 0..100, completed exactly at 100 (no history is stored, so earlier values cannot be compared)", c.Checked)
	return c, nil
}

// samples returns up to maxSamples entries, taken in order from the lists, each sorted.
func samples(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		sort.Strings(l)
		for _, s := range l {
			if len(out) == maxSamples {
				return out
			}
			out = append(out, s)
		}
	}
	return out
}
