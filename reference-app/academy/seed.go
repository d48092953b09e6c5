package academy

import (
	"crypto/sha1"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/google/uuid"
)

// SeedSpec says how much deterministic data to create.
type SeedSpec struct {
	Users   int   `json:"users"`
	Courses int   `json:"courses"`
	Seed    int64 `json:"seed"`
}

// Seed limits.
const (
	MaxSeedUsers   = 200_000
	MaxSeedCourses = 10_000
)

// Validate checks the limits.
func (s SeedSpec) Validate() error {
	if s.Users < 0 || s.Users > MaxSeedUsers {
		return Invalid("users", "must be between 0 and %d", MaxSeedUsers)
	}
	if s.Courses < 0 || s.Courses > MaxSeedCourses {
		return Invalid("courses", "must be between 0 and %d", MaxSeedCourses)
	}
	return nil
}

// SeedData is what a store inserts for a seed.
type SeedData struct {
	Users        []UserRecord
	Courses      []Course
	Lessons      []Lesson
	LiveSessions []LiveSession
}

// SeedSummary is the answer of a seed.
type SeedSummary struct {
	Users        int   `json:"users"`
	Instructors  int   `json:"instructors"`
	Courses      int   `json:"courses"`
	Lessons      int   `json:"lessons"`
	LiveSessions int   `json:"live_sessions"`
	Seed         int64 `json:"seed"`
}

// The seeded admin account.
const (
	SeedAdminEmail    = "admin@academy.test"
	SeedAdminPassword = "admin-password"
)

var categories = []string{"programming", "data", "design", "marketing", "business", "devops", "security", "languages"}

var topics = []string{"Go", "PostgreSQL", "Kubernetes", "Statistics", "Typography", "SEO", "Negotiation", "Rust", "Observability", "Cryptography", "Spanish", "React"}

var levels = []string{"Introduction to", "Practical", "Advanced", "Mastering", "Hands-on"}

// seedBase is the fixed start of seeded live sessions (deterministic).
var seedBase = time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC)

// seedID derives a deterministic id for kind and index under seed.
func seedID(seed int64, kind string, i int) uuid.UUID {
	return uuid.NewHash(sha1.New(), userNamespace, fmt.Appendf(nil, "seed:%d:%s:%d", seed, kind, i), 5)
}

// SeedInstructors is the number of instructors seeded for n courses.
func SeedInstructors(courses int) int { return max(1, (courses+4)/5) }

// buildSeed generates the deterministic data set of spec, without password
// hashes (the caller fills them).
func buildSeed(spec SeedSpec) (SeedData, []string) {
	r := rand.New(rand.NewPCG(uint64(spec.Seed), shortHash([]byte("academy-seed"))))
	var d SeedData
	var passwords []string
	now := seedBase.Add(-365 * 24 * time.Hour)
	addUser := func(email, name, password string, role Role) uuid.UUID {
		id := UserIDFromEmail(email)
		d.Users = append(d.Users, UserRecord{User: User{ID: id, Email: email, Name: name, Role: role, CreatedAt: now}})
		passwords = append(passwords, password)
		return id
	}
	addUser(SeedAdminEmail, "Admin", SeedAdminPassword, RoleAdmin)
	instructors := SeedInstructors(spec.Courses)
	if spec.Courses == 0 {
		instructors = 0
	}
	var instructorIDs []uuid.UUID
	for i := 1; i <= instructors; i++ {
		instructorIDs = append(instructorIDs, addUser(fmt.Sprintf("instructor-%d@academy.test", i), fmt.Sprintf("Instructor %d", i), fmt.Sprintf("password-%d", i), RoleInstructor))
	}
	for i := 1; i <= spec.Users; i++ {
		addUser(fmt.Sprintf("student-%d@academy.test", i), fmt.Sprintf("Student %d", i), fmt.Sprintf("password-%d", i), RoleStudent)
		d.Users[len(d.Users)-1].Region = SeedRegions[(i-1)%len(SeedRegions)]
	}
	for i := 1; i <= spec.Courses; i++ {
		topic := topics[r.IntN(len(topics))]
		c := Course{
			ID:           seedID(spec.Seed, "course", i),
			Slug:         fmt.Sprintf("course-%d", i),
			Title:        fmt.Sprintf("%s %s %d", levels[r.IntN(len(levels))], topic, i),
			Description:  fmt.Sprintf("A seeded course about %s, number %d of the catalog.", topic, i),
			Category:     categories[r.IntN(len(categories))],
			InstructorID: instructorIDs[(i-1)%len(instructorIDs)],
			Capacity:     20 + r.IntN(481),
			CreatedAt:    now.Add(time.Duration(i) * time.Minute),
		}
		c.UpdatedAt = c.CreatedAt
		lessons := 3 + r.IntN(6)
		c.LessonCount = lessons
		d.Courses = append(d.Courses, c)
		for p := 1; p <= lessons; p++ {
			answers := make([]int, 5)
			for q := range answers {
				answers[q] = r.IntN(4)
			}
			d.Lessons = append(d.Lessons, Lesson{
				ID:              seedID(spec.Seed, fmt.Sprintf("lesson-%d", i), p),
				CourseID:        c.ID,
				Position:        p,
				Title:           fmt.Sprintf("%s, part %d", topic, p),
				Body:            fmt.Sprintf("Lesson %d of course %d.", p, i),
				DurationSeconds: 300 + r.IntN(1500),
				QuizQuestions:   len(answers),
				QuizAnswers:     answers,
			})
		}
		d.LiveSessions = append(d.LiveSessions, LiveSession{
			ID:       seedID(spec.Seed, "live", i),
			CourseID: c.ID,
			Title:    fmt.Sprintf("Live Q&A: %s", c.Title),
			StartsAt: seedBase.Add(time.Duration(i) * time.Hour),
			Capacity: 50 + r.IntN(451),
		})
	}
	return d, passwords
}
