package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

// TestQuizAttemptsBounded: unlimited attempts, each with its score, let a
// student find the answer key one answer at a time; a student now has three
// attempts per lesson, however many are sent at once.
func TestQuizAttemptsBounded(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 1, Courses: 1, Seed: 1}})
	tok := e.token(student(1), academy.RoleStudent)
	if r := e.do("POST", "/v1/courses/course-1/enrollments", tok, nil); r.status != http.StatusCreated {
		t.Fatalf("enroll: %d %s", r.status, r.body)
	}
	var ls struct{ Lessons []academy.Lesson }
	e.do("GET", "/v1/courses/course-1/lessons", "", nil).json(t, &ls)
	lesson := ls.Lessons[0]
	answers := make([]int, lesson.QuizQuestions)
	rs := concurrently(10, func(int) response {
		return e.do("POST", "/v1/lessons/"+lesson.ID.String()+"/quiz-attempts", tok, map[string]any{"answers": answers})
	})
	created, exhausted := 0, 0
	for _, r := range rs {
		switch {
		case r.status == http.StatusCreated:
			created++
		case r.status == http.StatusConflict && r.errorCode(t) == "quiz_attempts_exhausted":
			exhausted++
		default:
			t.Errorf("attempt: %d %s", r.status, r.body)
		}
	}
	if created != 3 || exhausted != 7 {
		t.Fatalf("10 concurrent attempts: %d created, %d exhausted; want 3 and 7", created, exhausted)
	}
	// Another lesson has its own attempts.
	if r := e.do("POST", "/v1/lessons/"+ls.Lessons[1].ID.String()+"/quiz-attempts", tok, map[string]any{"answers": answers}); r.status != http.StatusCreated {
		t.Fatalf("another lesson: %d %s", r.status, r.body)
	}
	var g struct{ Grades []academy.Grade }
	e.do("GET", "/v1/me/grades", tok, nil).json(t, &g)
	for _, gr := range g.Grades {
		if gr.LessonID == lesson.ID && gr.Attempts != 3 {
			t.Fatalf("grades: %+v, want 3 attempts", gr)
		}
	}
}
