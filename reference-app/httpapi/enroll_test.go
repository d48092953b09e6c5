package httpapi_test

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/reference-app/academy"
)

func TestEnrollNeverOversoldOverHTTP(t *testing.T) {
	for _, shards := range []int{1, 2} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			const users, seats = 300, 25
			// Tokens are issued for the ids of 300 students; seeding them all
			// would only cost bcrypt time (enrollment reads no account row).
			e, _ := newEnv(t, envOptions{shards: shards, seed: academy.SeedSpec{Users: 5, Courses: 1, Seed: 7}})
			course := e.createCourse("popular", seats)
			tokens := make([]string, users)
			for i := range tokens {
				tokens[i] = e.token(student(i+1), academy.RoleStudent)
			}
			statuses := make([]int, users)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range users {
				wg.Go(func() {
					<-start
					r, err := e.try("POST", "/v1/courses/"+course+"/enrollments", tokens[i], nil)
					if err != nil {
						t.Error(err)
						return
					}
					statuses[i] = r.status
				})
			}
			close(start)
			wg.Wait()
			count := map[int]int{}
			for _, s := range statuses {
				count[s]++
			}
			if count[http.StatusCreated] != seats || count[http.StatusConflict] != users-seats {
				t.Fatalf("statuses %v; want %d x 201 and %d x 409", count, seats, users-seats)
			}
			var c academy.Course
			e.do("GET", "/v1/courses/"+course, "", nil).json(t, &c)
			if c.SeatsTaken != seats || c.SeatsAvailable != 0 {
				t.Fatalf("course shows %d taken, %d available; want %d and 0", c.SeatsTaken, c.SeatsAvailable, seats)
			}
			// The 409 body names the reason.
			r := e.do("POST", "/v1/courses/"+course+"/enrollments", e.token(student(users), academy.RoleStudent), nil)
			if r.status == http.StatusConflict && !contains(string(r.body), `"course_full"`) {
				t.Fatalf("409 body %s lacks course_full", r.body)
			}
			// Every 201 is stored: each winner sees its enrollment.
			found := 0
			for i := range users {
				if statuses[i] != http.StatusCreated {
					continue
				}
				if r := e.do("GET", "/v1/courses/popular/enrollment", tokens[i], nil); r.status == http.StatusOK {
					found++
				}
			}
			if found != seats {
				t.Fatalf("%d of %d acknowledged enrollments readable", found, seats)
			}
			if got := testutil.Sum(t, e.reg, "academy_enrollments_total", map[string]string{"result": "full"}); got < users-seats {
				t.Fatalf("academy_enrollments_total{result=full} = %v", got)
			}
		})
	}
}

func TestIdempotencyKeyNeverTakesASecondSeat(t *testing.T) {
	e, _ := newEnv(t, envOptions{shards: 2, seed: academy.SeedSpec{Users: 3, Courses: 1, Seed: 1}})
	course := e.createCourse("idem", 5)
	other := e.createCourse("idem-other", 5)
	tok := e.token(student(1), academy.RoleStudent)
	var wg sync.WaitGroup
	statuses := make([]int, 30)
	for i := range statuses {
		wg.Go(func() {
			statuses[i] = e.do("POST", "/v1/courses/"+course+"/enrollments", tok, nil, "Idempotency-Key", "retry-1").status
		})
	}
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusCreated {
			t.Fatalf("retry %d with the same key: status %d, want 201", i, s)
		}
	}
	var c academy.Course
	e.do("GET", "/v1/courses/"+course, "", nil).json(t, &c)
	if c.SeatsTaken != 1 {
		t.Fatalf("retries took %d seats, want 1", c.SeatsTaken)
	}
	if r := e.do("POST", "/v1/courses/idem/enrollments", tok, nil); r.status != http.StatusOK {
		t.Fatalf("repeat without key: %d, want 200", r.status)
	}
	if r := e.do("POST", "/v1/courses/"+other+"/enrollments", tok, nil, "Idempotency-Key", "retry-1"); r.status != http.StatusUnprocessableEntity {
		t.Fatalf("key reused for another course: %d %s, want 422", r.status, r.body)
	}
	var mine struct{ Enrollments []academy.EnrollmentView }
	e.do("GET", "/v1/me/enrollments", tok, nil).json(t, &mine)
	if len(mine.Enrollments) != 1 || mine.Enrollments[0].Course.Slug != "idem" {
		t.Fatalf("my enrollments %+v", mine)
	}
	if r := e.do("DELETE", "/v1/courses/idem/enrollments", tok, nil); r.status != http.StatusNoContent {
		t.Fatalf("unenroll %d", r.status)
	}
	if r := e.do("GET", "/v1/courses/idem/enrollment", tok, nil); r.status != http.StatusNotFound {
		t.Fatalf("enrollment after unenroll %d", r.status)
	}
	e.do("GET", "/v1/courses/"+course, "", nil).json(t, &c)
	if c.SeatsTaken != 0 {
		t.Fatalf("seat not freed: %d", c.SeatsTaken)
	}
}

func TestProgressNeverMovesBackwardsOverHTTP(t *testing.T) {
	e, _ := newEnv(t, envOptions{shards: 2, seed: academy.SeedSpec{Users: 2, Courses: 1, Seed: 3}})
	tok := e.token(student(1), academy.RoleStudent)
	var lessons struct{ Lessons []academy.Lesson }
	e.do("GET", "/v1/courses/course-1/lessons", "", nil).json(t, &lessons)
	lesson := lessons.Lessons[0].ID.String()
	if r := e.do("PUT", "/v1/lessons/"+lesson+"/progress", tok, map[string]int{"percent": 10}); r.status != http.StatusForbidden || r.errorCode(t) != "not_enrolled" {
		t.Fatalf("progress before enrolling: %d %s, want 403 not_enrolled", r.status, r.body)
	}
	answers := map[string]any{"answers": make([]int, lessons.Lessons[0].QuizQuestions)}
	if r := e.do("POST", "/v1/lessons/"+lesson+"/quiz-attempts", tok, answers); r.status != http.StatusForbidden || r.errorCode(t) != "not_enrolled" {
		t.Fatalf("quiz before enrolling: %d %s, want 403 not_enrolled", r.status, r.body)
	}
	e.do("POST", "/v1/courses/course-1/enrollments", tok, nil)
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			pct := (i * 37) % 101
			if r := e.do("PUT", "/v1/lessons/"+lesson+"/progress", tok, map[string]int{"percent": pct}); r.status != http.StatusOK {
				t.Errorf("progress %d: %d %s", pct, r.status, r.body)
			}
		})
	}
	wg.Wait()
	var max academy.LessonProgress
	e.do("PUT", "/v1/lessons/"+lesson+"/progress", tok, map[string]int{"percent": 0}).json(t, &max)
	want := 0
	for i := range 60 {
		want = maxInt(want, (i*37)%101)
	}
	if max.Percent != want {
		t.Fatalf("stored percent %d, want the maximum %d", max.Percent, want)
	}
	var cp academy.CourseProgress
	e.do("GET", "/v1/courses/course-1/progress", tok, nil).json(t, &cp)
	if len(cp.LessonProgress) != 1 || cp.LessonProgress[0].Percent != want {
		t.Fatalf("course progress %+v", cp)
	}
}

func maxInt(a, b int) int {
	if a > b {
		return a
	}
	return b
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
