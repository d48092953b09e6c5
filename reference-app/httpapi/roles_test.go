package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

func TestRoleMatrix(t *testing.T) {
	// Ten courses: instructor-1 owns course-1, instructor-2 owns course-2.
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 3, Courses: 10, Seed: 5}})
	tokens := map[string]string{
		"anonymous":    "",
		"student":      e.token(student(1), academy.RoleStudent),
		"other":        e.token(student(2), academy.RoleStudent),
		"owner":        e.token(instructor(1), academy.RoleInstructor),
		"instructor":   e.token(instructor(2), academy.RoleInstructor),
		"admin":        e.token(academy.SeedAdminEmail, academy.RoleAdmin),
		"admin-token":  adminToken,
		"forged-token": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIn0.bad",
	}
	student1 := academy.UserIDFromEmail(student(1)).String()
	// student-1 is enrolled in course-1, so that progress routes have data.
	if r := e.do("POST", "/v1/courses/course-1/enrollments", tokens["student"], nil); r.status != http.StatusCreated {
		t.Fatalf("setup enroll: %d %s", r.status, r.body)
	}
	tests := []struct {
		method, path string
		body         any
		want         map[string]int
	}{
		{"GET", "/v1/courses", nil, map[string]int{"anonymous": 200, "student": 200, "admin": 200, "forged-token": 401}},
		{"GET", "/v1/courses/course-1", nil, map[string]int{"anonymous": 200, "student": 200}},
		{"GET", "/v1/me", nil, map[string]int{"anonymous": 401, "student": 200, "owner": 200, "admin": 200, "admin-token": 200, "forged-token": 401}},
		{"GET", "/v1/me/dashboard", nil, map[string]int{"anonymous": 401, "student": 200, "admin": 200}},
		{"GET", "/v1/me/enrollments", nil, map[string]int{"anonymous": 401, "student": 200}},
		{"GET", "/v1/me/grades", nil, map[string]int{"anonymous": 401, "student": 200}},
		{"POST", "/v1/courses", map[string]any{"slug": "new-a", "title": "A", "category": "x", "capacity": 3}, map[string]int{"anonymous": 401, "student": 403, "forged-token": 401}},
		{"POST", "/v1/courses", map[string]any{"slug": "new-b", "title": "B", "category": "x", "capacity": 3}, map[string]int{"owner": 201}},
		{"POST", "/v1/courses", map[string]any{"slug": "new-c", "title": "C", "category": "x", "capacity": 3}, map[string]int{"admin": 201}},
		{"POST", "/v1/courses", map[string]any{"slug": "new-d", "title": "D", "category": "x", "capacity": 3}, map[string]int{"admin-token": 201}},
		{"PATCH", "/v1/courses/course-1", map[string]any{"title": "Renamed"}, map[string]int{
			"anonymous": 401, "student": 403, "other": 403, "instructor": 403, "owner": 200, "admin": 200, "admin-token": 200}},
		{"GET", "/v1/courses/course-1/progress?user=" + student1, nil, map[string]int{
			"anonymous": 401, "student": 200, "other": 403, "instructor": 403, "owner": 200, "admin": 200}},
		{"GET", "/v1/courses/course-1/progress", nil, map[string]int{"anonymous": 401, "student": 200, "other": 200}},
		{"GET", "/v1/courses/course-1/enrollment", nil, map[string]int{"anonymous": 401, "student": 200, "other": 404}},
		{"POST", "/v1/courses/course-2/enrollments", nil, map[string]int{"anonymous": 401, "other": 201, "admin-token": 403, "forged-token": 401}},
		{"DELETE", "/v1/courses/course-3/enrollments", nil, map[string]int{"anonymous": 401, "student": 404}},
		{"GET", "/admin/faults", nil, map[string]int{"anonymous": 401, "student": 403, "owner": 403, "admin": 200, "admin-token": 200}},
		{"POST", "/admin/faults", map[string]any{"route": "/v1/courses", "delay": "1ms", "percent": 1}, map[string]int{"anonymous": 401, "student": 403, "instructor": 403, "admin": 201}},
		{"DELETE", "/admin/faults", nil, map[string]int{"student": 403, "admin-token": 204}},
		{"POST", "/admin/seed", map[string]any{"users": 1, "courses": 1}, map[string]int{"anonymous": 401, "student": 403, "owner": 403}},
		{"POST", "/admin/reset", nil, map[string]int{"anonymous": 401, "student": 403, "instructor": 403}},
	}
	for _, tc := range tests {
		for role, want := range tc.want {
			t.Run(tc.method+" "+tc.path+" as "+role, func(t *testing.T) {
				r := e.do(tc.method, tc.path, tokens[role], tc.body)
				if r.status != want {
					t.Fatalf("status %d, want %d: %s", r.status, want, r.body)
				}
			})
		}
	}
}
