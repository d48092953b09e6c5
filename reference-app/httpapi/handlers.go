package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/trendtactics/loadlab/reference-app/academy"
	"github.com/trendtactics/loadlab/reference-app/live"
)

// ---- operations ----

func (s *server) handleHealthz(w http.ResponseWriter, _ *http.Request, _ academy.Principal) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

func (s *server) handleReadyz(w http.ResponseWriter, r *http.Request, _ academy.Principal) error {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	body := map[string]string{"status": "ok", "database": "ok", "cache": "none"}
	if s.deps.Cache != nil {
		body["cache"] = s.deps.Cache.Status()
	}
	status := http.StatusOK
	if err := s.svc.Ping(ctx); err != nil {
		body["status"], body["database"] = "unavailable", "error"
		s.log.WarnContext(r.Context(), "readiness: database", "err", err)
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", "1")
	} else if body["cache"] == "degraded" {
		body["status"] = "degraded"
	}
	writeJSON(w, status, body)
	return nil
}

func (s *server) metricsHandler() http.Handler {
	return promhttp.HandlerFor(s.deps.Registry, promhttp.HandlerOpts{Registry: s.deps.Registry})
}

func (s *server) handleNoRoute(w http.ResponseWriter, _ *http.Request, _ academy.Principal) error {
	writeErrorCode(w, http.StatusNotFound, "not_found", "no such route")
	return nil
}

func (s *server) handleIndex(w http.ResponseWriter, _ *http.Request, _ academy.Principal) error {
	writeJSON(w, http.StatusOK, map[string]string{"service": "TrendTactics Academy", "api": "/v1/courses"})
	return nil
}

// ---- accounts ----

func (s *server) handleRegister(w http.ResponseWriter, r *http.Request, _ academy.Principal) error {
	var in struct {
		Email    string `json:"email"`
		Password string `json:"password"`
		Name     string `json:"name"`
		Region   string `json:"region"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	u, err := s.svc.RegisterInRegion(r.Context(), in.Email, in.Password, in.Name, in.Region)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/me")
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func (s *server) handleLogin(w http.ResponseWriter, r *http.Request, _ academy.Principal) error {
	var in struct {
		Email        string `json:"email"`
		Password     string `json:"password"`
		OTP          string `json:"otp"`
		RecoveryCode string `json:"recovery_code"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	account, ip := academy.NormalizeEmail(in.Email), clientIP(r)
	if err := s.loginThrottled(w, account, ip); err != nil {
		return err
	}
	mfaKey := academy.UserIDFromEmail(account).String()
	if in.OTP != "" || in.RecoveryCode != "" {
		if err := s.mfaThrottled(w, mfaKey); err != nil {
			s.loginDone(account, ip, false)
			return err
		}
	}
	sess, err := s.svc.Login(r.Context(), academy.Credentials{Email: in.Email, Password: in.Password, OTP: in.OTP, RecoveryCode: in.RecoveryCode})
	s.loginDone(account, ip, errors.Is(err, academy.ErrBadCredentials))
	if in.OTP != "" || in.RecoveryCode != "" {
		s.mfaDone(mfaKey, err)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sess)
	return nil
}

// errLoginThrottled answers a login to an account, or from an IP, with too
// many recent failures; unknown accounts get it the same way as known ones.
var errLoginThrottled = &academy.Error{Kind: academy.KindInvalid, Code: "login_throttled",
	Message: "too many failed sign-ins; retry later"}

// loginThrottled fails with errLoginThrottled (and sets Retry-After) while
// the account's or the IP's budget of failed logins is spent. Otherwise it
// takes a token of the account's budget for the attempt (loginDone gives
// it back unless the attempt failed), so that concurrent guesses cannot
// all pass the check before the first failure is counted.
func (s *server) loginThrottled(w http.ResponseWriter, account, ip string) error {
	now := time.Now()
	if s.loginIPLim != nil {
		if blocked, wait := s.loginIPLim.blocked(ip, now); blocked {
			s.m.limited.WithLabelValues("login_ip").Inc()
			setRetryAfter(w, wait)
			return errLoginThrottled
		}
	}
	if s.loginAccountLim != nil {
		if ok, wait := s.loginAccountLim.allow(account, now); !ok {
			s.m.limited.WithLabelValues("login_account").Inc()
			setRetryAfter(w, wait)
			return errLoginThrottled
		}
	}
	return nil
}

// loginDone settles an attempt that loginThrottled let through: a failure
// (wrong password or unknown account) keeps the account's token and takes
// one of the IP's; any other outcome gives the account's token back.
func (s *server) loginDone(account, ip string, failed bool) {
	switch {
	case !failed:
		if s.loginAccountLim != nil {
			s.loginAccountLim.refund(account)
		}
	case s.loginIPLim != nil:
		s.loginIPLim.allow(ip, time.Now())
	}
}

func (s *server) handleRefresh(w http.ResponseWriter, r *http.Request, _ academy.Principal) error {
	var in struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	sess, err := s.svc.Refresh(r.Context(), in.RefreshToken)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, sess)
	return nil
}

// handleLogout revokes the session of the caller's access token.
func (s *server) handleLogout(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	if err := s.svc.Logout(r.Context(), p); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) handleMe(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	if p.UserID == uuid.Nil { // the admin token is no account
		writeJSON(w, http.StatusOK, map[string]string{"role": string(p.Role), "via": "admin_token"})
		return nil
	}
	u, err := s.svc.Me(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

func (s *server) handleDashboard(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	d, err := s.svc.Dashboard(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

func (s *server) handleMyEnrollments(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	es, err := s.svc.MyEnrollments(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"enrollments": es})
	return nil
}

func (s *server) handleGrades(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	gs, err := s.svc.Grades(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"grades": gs})
	return nil
}

// ---- catalog ----

func queryInt(r *http.Request, name string) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, academy.Invalid(name, "must be an integer")
	}
	return n, nil
}

func (s *server) handleListCourses(w http.ResponseWriter, r *http.Request, _ academy.Principal) error {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	if limit == 0 && r.URL.Query().Get("limit") != "" {
		return academy.Invalid("limit", "must be between 1 and 100")
	}
	offset, err := queryInt(r, "offset")
	if err != nil {
		return err
	}
	q := r.URL.Query()
	page, err := s.svc.CoursesJSON(r.Context(), academy.CourseFilter{Limit: limit, Offset: offset, Query: q.Get("q"), Category: q.Get("category")})
	if err != nil {
		return err
	}
	writeCacheable(w, r, append(page[:len(page):len(page)], '\n')) // page may be the cache's: copy
	return nil
}

func (s *server) handleCourse(w http.ResponseWriter, r *http.Request, _ academy.Principal) error {
	c, err := s.svc.Course(r.Context(), r.PathValue("course"))
	if err != nil {
		return err
	}
	return writeCacheableJSON(w, r, c)
}

func (s *server) handleCreateCourse(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	if !p.Is(academy.RoleInstructor, academy.RoleAdmin) {
		return academy.ErrForbidden
	}
	var in academy.NewCourse
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := s.svc.CreateCourse(r.Context(), p, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/courses/"+c.ID.String())
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (s *server) handleUpdateCourse(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	if !p.Is(academy.RoleInstructor, academy.RoleAdmin) {
		return academy.ErrForbidden
	}
	var in academy.CoursePatch
	if err := decode(r, &in); err != nil {
		return err
	}
	c, err := s.svc.UpdateCourse(r.Context(), p, r.PathValue("course"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

func (s *server) handleLessons(w http.ResponseWriter, r *http.Request, _ academy.Principal) error {
	ls, err := s.svc.Lessons(r.Context(), r.PathValue("course"))
	if err != nil {
		return err
	}
	return writeCacheableJSON(w, r, map[string]any{"lessons": ls})
}

func (s *server) handleLesson(w http.ResponseWriter, r *http.Request, _ academy.Principal) error {
	l, err := s.svc.Lesson(r.Context(), r.PathValue("lesson"))
	if err != nil {
		return err
	}
	return writeCacheableJSON(w, r, l)
}

// ---- enrollment ----

func contextWithDrop(r *http.Request) context.Context {
	return context.WithValue(r.Context(), dropKey{}, true)
}

func (s *server) handleEnroll(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	if p.UserID == uuid.Nil {
		return &academy.Error{Kind: academy.KindForbidden, Code: "account_required", Message: "the admin token is no account; sign in as a user to enroll"}
	}
	key := r.Header.Get("Idempotency-Key")
	if drop, _ := r.Context().Value(dropKey{}).(bool); drop {
		// Test-only fault: acknowledge without storing.
		c, err := s.svc.Course(r.Context(), r.PathValue("course"))
		if err != nil {
			return err
		}
		s.m.faults.WithLabelValues(KindDropWrite).Inc()
		s.m.enrollments.WithLabelValues("dropped").Inc()
		writeJSON(w, http.StatusCreated, academy.Enrollment{UserID: p.UserID, CourseID: c.ID, CreatedAt: time.Now().UTC()})
		return nil
	}
	res, err := s.svc.Enroll(r.Context(), p, r.PathValue("course"), key)
	switch {
	case errors.Is(err, academy.ErrCourseFull):
		s.m.enrollments.WithLabelValues("full").Inc()
		return err
	case err != nil:
		s.m.enrollments.WithLabelValues("error").Inc()
		return err
	case res.Replayed:
		s.m.enrollments.WithLabelValues("replayed").Inc()
		w.Header().Set("Idempotent-Replayed", "true")
		writeJSON(w, http.StatusCreated, res.Enrollment)
	case res.Created:
		s.m.enrollments.WithLabelValues("created").Inc()
		writeJSON(w, http.StatusCreated, res.Enrollment)
	default:
		s.m.enrollments.WithLabelValues("existing").Inc()
		writeJSON(w, http.StatusOK, res.Enrollment)
	}
	return nil
}

func (s *server) handleUnenroll(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	if err := s.svc.Unenroll(r.Context(), p, r.PathValue("course")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) handleMyEnrollment(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	e, err := s.svc.MyEnrollment(r.Context(), p, r.PathValue("course"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

// ---- learning ----

func (s *server) handleSetProgress(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	var in struct {
		Percent *int `json:"percent"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	if in.Percent == nil {
		return academy.Invalid("percent", "is required")
	}
	lp, err := s.svc.SetProgress(r.Context(), p, r.PathValue("lesson"), *in.Percent)
	if err != nil {
		return err
	}
	s.pushProgress(r, lp)
	writeJSON(w, http.StatusOK, lp)
	return nil
}

// pushProgress tells the live sessions of the lesson's course that a student progressed.
// It is best effort: a failure to list the sessions costs the push, never the update.
func (s *server) pushProgress(r *http.Request, lp academy.LessonProgress) {
	if s.deps.Live == nil {
		return
	}
	sessions, err := s.svc.LiveSessions(r.Context())
	if err != nil {
		s.log.WarnContext(r.Context(), "progress push: list live sessions", "err", err)
		return
	}
	for _, ls := range sessions {
		if ls.CourseID == lp.CourseID {
			s.deps.Live.Publish(ls.ID.String(), live.Message{Type: "progress", User: lp.UserID.String(), Data: lp})
		}
	}
}

func (s *server) handleCourseProgress(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	var target uuid.UUID
	if v := r.URL.Query().Get("user"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			return academy.Invalid("user", "must be a user id")
		}
		target = id
	}
	cp, err := s.svc.CourseProgress(r.Context(), p, target, r.PathValue("course"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, cp)
	return nil
}

func (s *server) handleQuizAttempt(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	var in struct {
		Answers []int `json:"answers"`
	}
	if err := decode(r, &in); err != nil {
		return err
	}
	a, err := s.svc.SubmitQuiz(r.Context(), p, r.PathValue("lesson"), in.Answers)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, a)
	return nil
}

// ---- video ----

func (s *server) videoLesson(r *http.Request) (string, error) {
	if s.deps.Video == nil {
		return "", &academy.Error{Kind: academy.KindNotFound, Code: "video_unavailable", Message: "video is not enabled on this server"}
	}
	l, err := s.svc.Lesson(r.Context(), r.PathValue("lesson"))
	if err != nil {
		return "", err
	}
	return l.ID.String(), nil
}

func (s *server) handleVideoMaster(w http.ResponseWriter, r *http.Request, _ academy.Principal) error {
	id, err := s.videoLesson(r)
	if err != nil {
		return err
	}
	s.deps.Video.ServeMaster(w, r, id)
	return nil
}

func (s *server) handleVideoFile(w http.ResponseWriter, r *http.Request, _ academy.Principal) error {
	id, err := s.videoLesson(r)
	if err != nil {
		return err
	}
	rendition, file := r.PathValue("rendition"), r.PathValue("file")
	if file == "index.m3u8" {
		s.deps.Video.ServeMedia(w, r, id, rendition)
		return nil
	}
	if num, ok := strings.CutSuffix(file, ".ts"); ok {
		if n, err := strconv.Atoi(num); err == nil && n >= 0 {
			s.deps.Video.ServeSegment(w, r, id, rendition, n)
			return nil
		}
	}
	return &academy.Error{Kind: academy.KindNotFound, Code: "not_found", Message: "no such video file"}
}

// ---- live ----

// handleLiveSessions lists the live sessions in start order; ?offset=N skips the first N
// and ?limit=M (1..100) keeps M, so clients can spread over the classes.
func (s *server) handleLiveSessions(w http.ResponseWriter, r *http.Request, _ academy.Principal) error {
	limit, err := queryInt(r, "limit")
	if err != nil {
		return err
	}
	if r.URL.Query().Get("limit") != "" && (limit < 1 || limit > 100) {
		return academy.Invalid("limit", "must be between 1 and 100")
	}
	offset, err := queryInt(r, "offset")
	if err != nil {
		return err
	}
	if offset < 0 {
		return academy.Invalid("offset", "must be at least 0")
	}
	ls, err := s.svc.LiveSessions(r.Context())
	if err != nil {
		return err
	}
	ls = ls[min(offset, len(ls)):]
	if limit > 0 {
		ls = ls[:min(limit, len(ls))]
	}
	writeJSON(w, http.StatusOK, map[string]any{"live_sessions": ls})
	return nil
}

// errTooManyConnections answers a join by a user who holds too many live
// connections already (429).
var errTooManyConnections = &academy.Error{Kind: academy.KindInvalid, Code: "too_many_connections",
	Message: "you hold too many live-class connections; close one first"}

func (s *server) handleJoinLive(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	ls, err := s.svc.LiveSession(r.Context(), p, r.PathValue("id"))
	if err != nil {
		return err
	}
	if s.deps.Live == nil {
		return &academy.Error{Kind: academy.KindUnavailable, Code: "live_unavailable", Message: "live classes are not enabled on this server"}
	}
	who := p.UserID.String()
	ticket, expires, err := s.deps.Live.Issue(ls.ID.String(), who, ls.Capacity)
	if err != nil {
		if s.opts.LiveIsFull(err) {
			return academy.ErrLiveSessionFull
		}
		if s.opts.LiveTooMany(err) {
			w.Header().Set("Retry-After", "1")
			return errTooManyConnections
		}
		return &academy.Error{Kind: academy.KindUnavailable, Code: "live_unavailable", Message: "cannot join live session", Err: err}
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"ticket":     ticket,
		"ws_url":     "/v1/live-sessions/" + ls.ID.String() + "/ws?ticket=" + ticket,
		"expires_at": expires.UTC(),
	})
	return nil
}

func (s *server) handleLiveWS(w http.ResponseWriter, r *http.Request, _ academy.Principal) error {
	id, err := uuid.Parse(r.PathValue("id"))
	if err != nil {
		return &academy.Error{Kind: academy.KindNotFound, Code: "live_session_not_found", Message: "live session not found"}
	}
	if s.deps.Live == nil {
		return &academy.Error{Kind: academy.KindUnavailable, Code: "live_unavailable", Message: "live classes are not enabled on this server"}
	}
	s.deps.Live.ServeWS(w, r, id.String())
	return nil
}

// ---- admin ----

func (s *server) handleSeed(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	spec := academy.SeedSpec{Users: 1000, Courses: 50, Seed: 42}
	if r.ContentLength != 0 {
		if err := decode(r, &spec); err != nil {
			return err
		}
	}
	sum, err := s.svc.Seed(r.Context(), p, spec)
	if err != nil {
		return err
	}
	s.log.InfoContext(r.Context(), "data seeded", "by", who(p), "users", sum.Users, "courses", sum.Courses, "seed", sum.Seed)
	writeJSON(w, http.StatusOK, sum)
	return nil
}

func (s *server) handleReset(w http.ResponseWriter, r *http.Request, p academy.Principal) error {
	if err := s.svc.Reset(r.Context(), p); err != nil {
		return err
	}
	s.faults.clear()
	s.log.InfoContext(r.Context(), "data reset", "by", who(p))
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// who names the caller in log lines: a user id, or the admin token.
func who(p academy.Principal) string {
	if p.UserID == uuid.Nil {
		return "admin_token"
	}
	return p.UserID.String()
}

func (s *server) handleListFaults(w http.ResponseWriter, _ *http.Request, _ academy.Principal) error {
	fs := s.faults.list()
	if fs == nil {
		fs = []Fault{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"faults": fs})
	return nil
}

func (s *server) handleAddFault(w http.ResponseWriter, r *http.Request, _ academy.Principal) error {
	var f Fault
	if err := decode(r, &f); err != nil {
		return err
	}
	if f.ID != "" {
		return academy.Invalid("id", "is assigned by the server")
	}
	if err := validateFault(&f, s.routes, s.opts.AllowUnsafeFaults); err != nil {
		return err
	}
	f = s.faults.add(f)
	s.log.InfoContext(r.Context(), "fault added", "id", f.ID, "route", f.Route, "method", f.Method, "delay", time.Duration(f.Delay), "abort_status", f.AbortStatus, "percent", f.Percent, "kind", f.Kind)
	writeJSON(w, http.StatusCreated, f)
	return nil
}

func (s *server) handleClearFaults(w http.ResponseWriter, r *http.Request, _ academy.Principal) error {
	s.faults.clear()
	s.log.InfoContext(r.Context(), "faults cleared")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *server) handleDeleteFault(w http.ResponseWriter, r *http.Request, _ academy.Principal) error {
	if !s.faults.remove(r.PathValue("id")) {
		return &academy.Error{Kind: academy.KindNotFound, Code: "fault_not_found", Message: "no such fault"}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
