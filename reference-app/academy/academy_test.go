package academy_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

func TestShardOfIsStableAndSpread(t *testing.T) {
	counts := make([]int, 4)
	for i := range 4000 {
		id := academy.UserIDFromEmail(uuid.NewSHA1(uuid.Nil, []byte{byte(i), byte(i >> 8)}).String() + "@x.test")
		s := academy.ShardOf(id, 4)
		if s != academy.ShardOf(id, 4) || s < 0 || s >= 4 {
			t.Fatalf("shard %d", s)
		}
		counts[s]++
	}
	for i, c := range counts {
		if c < 800 || c > 1200 {
			t.Fatalf("shard %d holds %d of 4000 users: %v", i, c, counts)
		}
	}
	if academy.ShardOf(uuid.New(), 1) != 0 {
		t.Fatal("one shard must be shard 0")
	}
}

func TestUserIDFromEmailNormalises(t *testing.T) {
	if academy.UserIDFromEmail(" Student-1@Academy.TEST ") != academy.UserIDFromEmail("student-1@academy.test") {
		t.Fatal("ids differ for the same address")
	}
	if academy.UserIDFromEmail("a@b.c") == academy.UserIDFromEmail("a@b.d") {
		t.Fatal("ids collide")
	}
}

func TestTokens(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := now
	svc, err := academy.NewService(nil, nil, academy.Options{Secret: []byte("0123456789abcdef"), Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.New()
	tok, err := svc.IssueToken(id, academy.RoleInstructor)
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(context.Background(), tok)
	if err != nil || p.UserID != id || p.Role != academy.RoleInstructor {
		t.Fatalf("authenticate: %+v %v", p, err)
	}
	other, _ := academy.NewService(nil, nil, academy.Options{Secret: []byte("another secret 16b"), Now: func() time.Time { return clock }})
	if _, err := other.Authenticate(context.Background(), tok); !errors.Is(err, academy.ErrInvalidToken) {
		t.Fatalf("token accepted under another secret: %v", err)
	}
	clock = now.Add(15*time.Minute + time.Second)
	if _, err := svc.Authenticate(context.Background(), tok); !errors.Is(err, academy.ErrInvalidToken) {
		t.Fatalf("expired token accepted: %v", err)
	}
	if _, err := svc.Authenticate(context.Background(), "not.a.token"); academy.KindOf(err) != academy.KindUnauthorized {
		t.Fatalf("garbage token: %v", err)
	}
	if _, err := academy.NewService(nil, nil, academy.Options{Secret: []byte("short")}); err == nil {
		t.Fatal("short secret accepted")
	}
}

func TestValidationBeforeStorage(t *testing.T) {
	// A nil store: every case must be refused before storage is touched.
	svc, _ := academy.NewService(nil, nil, academy.Options{Secret: []byte("0123456789abcdef"), BcryptCost: 4})
	ctx := context.Background()
	student := academy.Principal{UserID: uuid.New(), Role: academy.RoleStudent}
	instructor := academy.Principal{UserID: uuid.New(), Role: academy.RoleInstructor}
	cases := []struct {
		name string
		err  error
		kind academy.Kind
	}{
		{"bad email", second(svc.Register(ctx, "nope", "password1", "N")), academy.KindInvalid},
		{"short password", second(svc.Register(ctx, "a@b.co", "short", "N")), academy.KindInvalid},
		{"empty name", second(svc.Register(ctx, "a@b.co", "password1", " ")), academy.KindInvalid},
		{"student creates course", second(svc.CreateCourse(ctx, student, academy.NewCourse{Slug: "x", Title: "t", Category: "c"})), academy.KindForbidden},
		{"anonymous creates course", second(svc.CreateCourse(ctx, academy.Principal{}, academy.NewCourse{})), academy.KindUnauthorized},
		{"bad slug", second(svc.CreateCourse(ctx, instructor, academy.NewCourse{Slug: "Bad Slug", Title: "t", Category: "c"})), academy.KindInvalid},
		{"negative capacity", second(svc.CreateCourse(ctx, instructor, academy.NewCourse{Slug: "ok", Title: "t", Category: "c", Capacity: -1})), academy.KindInvalid},
		{"bad limit", second(svc.Courses(ctx, academy.CourseFilter{Limit: 1000})), academy.KindInvalid},
		{"bad course key", second(svc.Course(ctx, "'; DROP TABLE courses; --")), academy.KindNotFound},
		{"bad lesson id", second(svc.Lesson(ctx, "x")), academy.KindNotFound},
		{"percent above 100", second(svc.SetProgress(ctx, student, uuid.NewString(), 101)), academy.KindInvalid},
		{"student seeds", second(svc.Seed(ctx, student, academy.SeedSpec{})), academy.KindForbidden},
		{"huge seed", second(svc.Seed(ctx, academy.Principal{Role: academy.RoleAdmin}, academy.SeedSpec{Users: academy.MaxSeedUsers + 1})), academy.KindInvalid},
		{"anonymous enrolls", second(svc.Enroll(ctx, academy.Principal{}, "course-1", "")), academy.KindUnauthorized},
	}
	for _, c := range cases {
		if got := academy.KindOf(c.err); got != c.kind {
			t.Errorf("%s: kind %v (%v), want %v", c.name, got, c.err, c.kind)
		}
	}
}

func second[T any](_ T, err error) error { return err }
