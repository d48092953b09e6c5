package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/trendtactics/loadlab/reference-app/academy"
)

// jsonRoutes are the routes that read a JSON body, with a token role.
var jsonRoutes = []struct{ method, path, role string }{
	{"POST", "/v1/users", ""},
	{"POST", "/v1/sessions", ""},
	{"POST", "/v1/sessions/refresh", ""},
	{"POST", "/v1/courses", "admin"},
	{"PATCH", "/v1/courses/course-1", "admin"},
	{"PUT", "/v1/lessons/{lesson}/progress", "student"},
	{"POST", "/v1/lessons/{lesson}/quiz-attempts", "student"},
	{"POST", "/admin/faults", "admin"},
	{"POST", "/v1/me/mfa/totp/confirm", "student"},
	{"DELETE", "/v1/me/mfa/totp", "student"},
	{"POST", "/v1/me/api-keys", "student"},
}

var badBodies = []string{
	``, `{`, `[]`, `null`, `"x"`, `123`, `{}`, `{} {}`, `{"email":1}`, `{"email":["a"]}`,
	`{"email":"a@b.c","password":"12345678","name":"n","extra":1}`,
	`{"email":"' OR 1=1; --@x.y","password":"'; DROP TABLE users; --","name":"Robert'); DROP TABLE students;--"}`,
	`{"refresh_token":"not-a-token"}`, `{"refresh_token":"AAAA"}`, `{"refresh_token":null}`,
	`{"slug":"00000000-0000-0000-0000-000000000000","title":"t","category":"c","capacity":1}`,
	`{"slug":"a b","title":"t","category":"c","capacity":-1}`, `{"capacity":1e99}`, `{"capacity":"5"}`,
	`{"title":"\u0000"}`, `{"title":"\xff\xfe"}`, `{"percent":101}`, `{"percent":-1}`, `{"percent":50.5}`,
	`{"percent":null}`, `{"answers":[1,2,3,4,5,6,7,8,9]}`, `{"answers":"1,2"}`, `{"answers":[1e40]}`,
	`{"route":"/nope","delay":"1ms"}`, `{"route":"/v1/courses","delay":"forever"}`, `{"route":"/v1/courses","abort_status":42}`,
	`{"route":"/v1/courses/{course}/enrollments","kind":"drop-write"}`, `{"route":"/v1/courses","percent":1000,"delay":"1ms"}`,
	`{"code":"123456"}`, `{"code":123456}`, `{"code":"` + strings.Repeat("9", 300) + `"}`, `{"recovery_code":"\u0000"}`,
	`{"name":"k","scope":"read"}`, `{"name":"k","scope":"root"}`, `{"name":"\u0000","scope":"write"}`, `{"scope":["read"]}`,
	strings.Repeat(`{"a":`, 10000), `{"name":"` + strings.Repeat("x", 2<<20) + `"}`,
}

// badPaths exercise path parameters: bad UUIDs, slugs, SQL-looking strings.
var badPaths = []string{
	"/v1/courses/not-a-uuid", "/v1/courses/00000000-0000-0000-0000-00000000000g", "/v1/courses/'%20OR%201=1--",
	"/v1/courses/" + strings.Repeat("a", 500), "/v1/courses/%00", "/v1/lessons/xyz", "/v1/lessons/%27;DROP%20TABLE%20lessons",
	"/v1/courses?limit=abc", "/v1/courses?limit=0", "/v1/courses?limit=1000000000000000000000", "/v1/courses?offset=-1",
	"/v1/courses?q=%27%25_%5C", "/v1/courses?q=" + strings.Repeat("q", 300), "/v1/courses?category=%ff",
	"/v1/courses?q=%00", "/v1/courses?category=a%00b", "/v1/courses?q=%01%7f",
	"/v1/courses/course-1/progress?user=nope", "/v1/lessons/x/video/master.m3u8", "/v1/lessons/x/video/720p/-1.ts",
	"/v1/live-sessions/nope/join", "/v1/live-sessions/nope/ws", "/nope", "/v1/nope", "/admin/faults/zzz",
	"/v1/me/api-keys/not-a-uuid", "/v1/me/api-keys/%00", "/v1/me/api-keys/00000000-0000-0000-0000-000000000000",
}

func TestBadInputNever500(t *testing.T) {
	e, _ := newEnv(t, envOptions{seed: academy.SeedSpec{Users: 2, Courses: 2, Seed: 9}})
	lesson := firstLesson(t, e)
	tokens := map[string]string{"": "", "admin": adminToken, "student": e.token(student(1), academy.RoleStudent)}
	e.do("POST", "/v1/courses/course-1/enrollments", tokens["student"], nil)
	for _, rt := range jsonRoutes {
		for _, body := range badBodies {
			r := e.do(rt.method, strings.ReplaceAll(rt.path, "{lesson}", lesson), tokens[rt.role], body)
			if r.status >= 500 || (r.status >= 400 && !strings.Contains(string(r.body), `"error"`)) {
				t.Errorf("%s %s with %.60q: %d %s", rt.method, rt.path, body, r.status, r.body)
			}
		}
	}
	for _, p := range badPaths {
		for _, method := range []string{"GET", "POST", "DELETE", "PUT"} {
			r := e.do(method, p, tokens["student"], nil)
			if r.status >= 500 {
				t.Errorf("%s %s: %d %s", method, p, r.status, r.body)
			}
		}
	}
	// A huge body is refused with 413.
	r := e.do("POST", "/v1/users", "", `{"name":"`+strings.Repeat("x", 2<<20)+`"}`)
	if r.status != http.StatusRequestEntityTooLarge {
		t.Fatalf("huge body: %d, want 413", r.status)
	}
}

func firstLesson(t testing.TB, e *env) string {
	t.Helper()
	var ls struct{ Lessons []academy.Lesson }
	e.do("GET", "/v1/courses/course-1/lessons", "", nil).json(t, &ls)
	if len(ls.Lessons) == 0 {
		t.Fatal("no lessons seeded")
	}
	return ls.Lessons[0].ID.String()
}

// FuzzJSONHandlers sends arbitrary bodies to every JSON route and arbitrary
// path parameters: no input may yield a 5xx.
func FuzzJSONHandlers(f *testing.F) {
	for _, b := range badBodies {
		if len(b) < 4096 {
			f.Add(uint8(0), b, "course-1")
		}
	}
	for i := range jsonRoutes {
		f.Add(uint8(i), `{"email":"a@b.co","password":"password-1","name":"A"}`, "00000000-0000-0000-0000-000000000000")
	}
	f.Add(uint8(3), `{"slug":"x","title":"t","category":"c","capacity":1}`, "' OR '1'='1")
	f.Add(uint8(5), `{"percent":100}`, "%27--")
	e, _ := newEnv(f, envOptions{seed: academy.SeedSpec{Users: 2, Courses: 2, Seed: 9}})
	lesson := firstLesson(f, e)
	tokens := map[string]string{"": "", "admin": adminToken, "student": e.token(student(1), academy.RoleStudent)}
	f.Fuzz(func(t *testing.T, route uint8, body, param string) {
		rt := jsonRoutes[int(route)%len(jsonRoutes)]
		path := strings.ReplaceAll(rt.path, "{lesson}", lesson)
		if int(route)%2 == 1 {
			path = strings.ReplaceAll(strings.ReplaceAll(rt.path, "{lesson}", escapePath(param)), "course-1", escapePath(param))
		}
		r, err := e.try(rt.method, path, tokens[rt.role], body)
		if err != nil {
			return // a path the client refuses to send
		}
		if r.status >= 500 {
			t.Fatalf("%s %s with %q: %d %s", rt.method, path, body, r.status, r.body)
		}
	})
}

func escapePath(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' {
			b.WriteByte(c)
		} else {
			b.WriteString("%" + strings.ToUpper(string("0123456789abcdef"[c>>4])+string("0123456789abcdef"[c&15])))
		}
	}
	return b.String()
}
