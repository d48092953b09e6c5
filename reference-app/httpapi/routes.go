package httpapi

import "net/http"

// registerRoutes lists every route of the academy.
func (s *server) registerRoutes() {
	// Operations.
	s.handle("GET /healthz", ops, s.handleHealthz)
	s.handle("GET /readyz", ops, s.handleReadyz)
	s.mux.Handle("GET /metrics", s.instrument("GET /metrics", http.MethodGet, s.metricsHandler()))

	// Accounts.
	s.handle("POST /v1/users", public, s.handleRegister)
	s.handle("POST /v1/sessions", public, s.handleLogin)
	s.handle("POST /v1/sessions/refresh", public, s.handleRefresh)
	s.handle("DELETE /v1/sessions", user, s.handleLogout)
	s.handle("GET /v1/me", user, s.handleMe)
	s.handle("POST /v1/me/mfa/totp", user, s.handleEnrollTOTP)
	s.handle("POST /v1/me/mfa/totp/confirm", user, s.handleConfirmTOTP)
	s.handle("DELETE /v1/me/mfa/totp", user, s.handleDisableTOTP)
	s.handle("POST /v1/me/api-keys", user, s.handleCreateAPIKey)
	s.handle("GET /v1/me/api-keys", user, s.handleAPIKeys)
	s.handle("DELETE /v1/me/api-keys/{id}", user, s.handleRevokeAPIKey)
	s.handle("GET /v1/me/dashboard", user, s.handleDashboard)
	s.handle("GET /v1/me/enrollments", user, s.handleMyEnrollments)
	s.handle("GET /v1/me/grades", user, s.handleGrades)

	// Catalog.
	s.handle("GET /v1/courses", public, s.handleListCourses)
	s.handle("POST /v1/courses", user, s.handleCreateCourse)
	s.handle("GET /v1/courses/{course}", public, s.handleCourse)
	s.handle("PATCH /v1/courses/{course}", user, s.handleUpdateCourse)
	s.handle("GET /v1/courses/{course}/lessons", public, s.handleLessons)
	s.handle("GET /v1/lessons/{lesson}", public, s.handleLesson)

	// Enrollment.
	s.handle("POST /v1/courses/{course}/enrollments", user, s.handleEnroll)
	s.handle("DELETE /v1/courses/{course}/enrollments", user, s.handleUnenroll)
	s.handle("GET /v1/courses/{course}/enrollment", user, s.handleMyEnrollment)

	// Learning.
	s.handle("PUT /v1/lessons/{lesson}/progress", user, s.handleSetProgress)
	s.handle("GET /v1/courses/{course}/progress", user, s.handleCourseProgress)
	s.handle("POST /v1/lessons/{lesson}/quiz-attempts", user, s.handleQuizAttempt)

	// Video (HLS).
	s.handle("GET /v1/lessons/{lesson}/video/master.m3u8", public, s.handleVideoMaster)
	s.handle("GET /v1/lessons/{lesson}/video/{rendition}/{file}", public, s.handleVideoFile)

	// Live classes.
	s.handle("GET /v1/live-sessions", public, s.handleLiveSessions)
	s.handle("POST /v1/live-sessions/{id}/join", user, s.handleJoinLive)
	s.handle("GET /v1/live-sessions/{id}/ws", public, s.handleLiveWS)

	// Admin.
	s.handle("POST /admin/seed", admin, s.handleSeed)
	s.handle("POST /admin/reset", admin, s.handleReset)
	s.handle("GET /admin/faults", admin, s.handleListFaults)
	s.handle("POST /admin/faults", admin, s.handleAddFault)
	s.handle("DELETE /admin/faults", admin, s.handleClearFaults)
	s.handle("DELETE /admin/faults/{id}", admin, s.handleDeleteFault)

	// Landing page and static assets; JSON 404 under the API prefixes.
	s.handle("GET /v1/", public, s.handleNoRoute)
	s.handle("GET /admin/", public, s.handleNoRoute)
	if s.deps.Web != nil {
		s.handleWeb("GET /{$}")
		s.handleWeb("GET /static/")
	} else {
		s.handle("GET /{$}", public, s.handleIndex)
	}
}
