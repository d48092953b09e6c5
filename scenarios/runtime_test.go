package scenarios_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/scenarios"
)

func testSpec() *scenarios.Spec {
	return &scenarios.Spec{
		Data: map[string]*scenarios.Pool{
			"user": {Name: "user", Order: "sequential", Rows: []map[string]string{
				{"email": "a@x", "password": "pa"},
				{"email": "b@x", "password": "pb"},
				{"email": "c@x", "password": "pc"},
			}},
			"course": {Name: "course", Order: "random", Rows: []map[string]string{
				{"id": "c1"}, {"id": "c2"}, {"id": "c3"}, {"id": "c4"},
			}},
		},
	}
}

func TestTemplateExecute(t *testing.T) {
	spec := testSpec()
	uuidRE := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	tests := []struct {
		src  string
		seq  uint64
		vars map[string]string
		want string         // exact, or
		re   *regexp.Regexp // a pattern
	}{
		{src: "plain", want: "plain"},
		{src: "", want: ""},
		{src: "/v1/x?n={{ seq }}", seq: 7, want: "/v1/x?n=7"},
		{src: "{{seed}}", want: "42"},
		{src: "{{ user.email }}", seq: 0, want: "a@x"},
		{src: "{{ user.email }}/{{ user.password }}", seq: 4, want: "b@x/pb"},
		{src: "Bearer {{ token }}", vars: map[string]string{"token": "T"}, want: "Bearer T"},
		{src: "{{ token }}", vars: map[string]string{"token": "T"}, want: "T"},
		{src: "{{ uuid }}", re: uuidRE},
		{src: "course-{{ randint 1 50 }}", re: regexp.MustCompile(`^course-([1-9]|[1-4][0-9]|50)$`)},
		{src: "{{ randint -3 -3 }}", want: "-3"},
		{src: "{{ random course.id }}", re: regexp.MustCompile(`^c[1-4]$`)},
		{src: "{{ course.id }}", re: regexp.MustCompile(`^c[1-4]$`)},
		{src: "a }} b", want: "a }} b"},
	}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			tmpl, err := scenarios.ParseTemplate(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			it := spec.NewIteration(tt.seq, 42)
			for k, v := range tt.vars {
				it.Vars[k] = v
			}
			got, err := tmpl.Execute(it)
			if err != nil {
				t.Fatal(err)
			}
			if tt.re != nil {
				if !tt.re.MatchString(got) {
					t.Errorf("got %q, want match of %s", got, tt.re)
				}
			} else if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTemplateErrors(t *testing.T) {
	for _, src := range []string{
		"{{", "a {{ seq", "{{ }}", "{{ seq 1 }}", "{{ randint 1 }}", "{{ randint 5 1 }}",
		"{{ randint a b }}", "{{ random user }}", "{{ random }}", "{{ user. }}", "{{ a.b.c }}",
		"{{ foo bar }}", "{{ 1x }}",
	} {
		if _, err := scenarios.ParseTemplate(src); err == nil {
			t.Errorf("ParseTemplate(%q): no error", src)
		}
	}
	spec := testSpec()
	for _, src := range []string{"{{ token }}", "{{ nopool.x }}", "{{ user.nofield }}"} {
		_, err := scenarios.MustTemplate(src).Execute(spec.NewIteration(1, 1))
		if err == nil {
			t.Errorf("Execute(%q): no error", src)
		}
	}
}

func TestTemplateDeterministic(t *testing.T) {
	spec := testSpec()
	tmpl := scenarios.MustTemplate("{{ uuid }} {{ randint 1 1000000 }} {{ random course.id }} {{ course.id }}")
	render := func(seq uint64, seed int64) string {
		s, err := tmpl.Execute(spec.NewIteration(seq, seed))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if a, b := render(3, 9), render(3, 9); a != b {
		t.Errorf("same seq and seed rendered %q and %q", a, b)
	}
	if a, b := render(3, 9), render(4, 9); a == b {
		t.Errorf("different seq rendered the same %q", a)
	}
	if a, b := render(3, 9), render(3, 10); a == b {
		t.Errorf("different seed rendered the same %q", a)
	}
	// A random pool's row is fixed within an iteration, and all rows get picked.
	seen := map[string]bool{}
	row := scenarios.MustTemplate("{{ course.id }}={{ course.id }}")
	for seq := range uint64(200) {
		s, _ := row.Execute(spec.NewIteration(seq, 1))
		a, b, _ := strings.Cut(s, "=")
		if a != b {
			t.Fatalf("row changed within an iteration: %q", s)
		}
		seen[a] = true
	}
	if len(seen) != 4 {
		t.Errorf("random pool rows picked: %v, want all 4", seen)
	}
}

func TestUnparsedTemplate(t *testing.T) {
	// A Template built by hand (not by Load or ParseTemplate) still renders.
	got, err := (&scenarios.Template{Source: "n={{ seq }}"}).Execute(testSpec().NewIteration(5, 0))
	if err != nil || got != "n=5" {
		t.Errorf("got %q, %v", got, err)
	}
}

func TestBuild(t *testing.T) {
	spec := testSpec()
	r := &scenarios.Request{
		Method: "POST",
		URL:    scenarios.MustTemplate("/v1/courses/{{ random course.id }}/enrollments"),
		Headers: map[string]*scenarios.Template{
			"Idempotency-Key": scenarios.MustTemplate("{{ uuid }}"),
			"Authorization":   scenarios.MustTemplate("Bearer {{ token }}"),
		},
		Body: scenarios.MustTemplate(`{"email":"{{ user.email }}"}`),
	}
	it := spec.NewIteration(1, 1)
	it.Vars["token"] = "tok"
	req, err := r.Build(it, "http://127.0.0.1:8080/")
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != "POST" || !regexp.MustCompile(`^http://127\.0\.0\.1:8080/v1/courses/c[1-4]/enrollments$`).MatchString(req.URL.String()) {
		t.Errorf("got %s %s", req.Method, req.URL)
	}
	if got := req.Header.Get("Authorization"); got != "Bearer tok" {
		t.Errorf("Authorization = %q", got)
	}
	if len(req.Header.Get("Idempotency-Key")) != 36 {
		t.Errorf("Idempotency-Key = %q", req.Header.Get("Idempotency-Key"))
	}
	b, _ := io.ReadAll(req.Body)
	if string(b) != `{"email":"b@x"}` || req.ContentLength != int64(len(b)) {
		t.Errorf("body %q, length %d", b, req.ContentLength)
	}

	abs := &scenarios.Request{URL: scenarios.MustTemplate("https://example.test/x?q=1")}
	req, err = abs.Build(it, "http://127.0.0.1:1")
	if err != nil || req.URL.String() != "https://example.test/x?q=1" || req.Method != "GET" {
		t.Errorf("absolute: %v %v", req, err)
	}
	if _, err := (&scenarios.Request{URL: scenarios.MustTemplate("/{{ token2 }}")}).Build(it, "http://h"); err == nil {
		t.Error("missing capture: no error")
	}
}

func TestApply(t *testing.T) {
	step := &scenarios.Step{Name: "login", Capture: []*scenarios.Capture{
		{Name: "token", From: "$.token"},
		{Name: "first", From: "$.items[0].id"},
		{Name: "last", From: "$.items[-1].id"},
		{Name: "n", From: "$.n"},
		{Name: "obj", From: "$.obj"},
		{Name: "loc", From: "header:Location"},
	}}
	body := []byte(`{"token":"abc","items":[{"id":1},{"id":2.50}],"n":12345678901234567890,"obj":{"a":[true,null]}}`)
	h := http.Header{"Location": {"/v1/x/1"}}
	it := testSpec().NewIteration(1, 1)
	if err := step.Apply(it, 200, h, body); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"token": "abc", "first": "1", "last": "2.50", "n": "12345678901234567890", "obj": `{"a":[true,null]}`, "loc": "/v1/x/1"}
	for k, v := range want {
		if it.Vars[k] != v {
			t.Errorf("%s = %q, want %q", k, it.Vars[k], v)
		}
	}

	for _, tt := range []struct {
		capture scenarios.Capture
		body    string
		want    string
	}{
		{scenarios.Capture{Name: "token", From: "$.token"}, `{"error":{}}`, `capture "token": $.token not found in the response body (status 200)`},
		{scenarios.Capture{Name: "token", From: "$.token"}, `<html>`, `capture "token": response body is not JSON`},
		{scenarios.Capture{Name: "loc", From: "header:Location"}, `{}`, `capture "loc": no header Location in the response (status 200)`},
	} {
		s := &scenarios.Step{Capture: []*scenarios.Capture{&tt.capture}}
		err := s.Apply(testSpec().NewIteration(1, 1), 200, http.Header{}, []byte(tt.body))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("got %v, want %s", err, tt.want)
		}
	}
}

func TestCheck(t *testing.T) {
	yes, no := true, false
	student := "student"
	e := &scenarios.Expect{
		Status: []int{200, 201},
		JSON: []*scenarios.JSONCheck{
			{Path: "$.id", Exists: &yes},
			{Path: "$.role", Equals: &student},
			{Path: "$.error", Exists: &no},
		},
		MaxLatency: 250 * time.Millisecond,
	}
	tests := []struct {
		name    string
		e       *scenarios.Expect
		status  int
		body    string
		latency time.Duration
		want    []string
	}{
		{"pass", e, 201, `{"id":1,"role":"student"}`, time.Millisecond, nil},
		{"all fail", e, 500, `{"role":"admin","error":{}}`, time.Second, []string{
			"status 500 not in [200 201]", "latency 1s over 250ms", "json $.id missing",
			`json $.role = "admin", want "student"`, "json $.error present, want absent"}},
		{"not json", e, 200, `oops`, 0, []string{"body is not JSON: invalid character 'o' looking for beginning of value"}},
		{"nil expect ok", nil, 302, ``, 0, nil},
		{"nil expect fail", nil, 404, ``, 0, []string{"status 404 not 2xx/3xx"}},
		{"default status", &scenarios.Expect{}, 199, ``, 0, []string{"status 199 not 2xx/3xx"}},
		{"bad path", &scenarios.Expect{JSON: []*scenarios.JSONCheck{{Path: "a.b"}}}, 200, `{}`, 0, []string{`json path "a.b" must start with $`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.e.Check(tt.status, nil, []byte(tt.body), tt.latency)
			if strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestJSONPaths(t *testing.T) {
	body := `{"a":{"b":[10,{"c":"x"}],"k.y":5,"e":""},"arr":[[1,2],[3]]}`
	tests := []struct{ path, want string }{
		{"$", `{"a":{"b":[10,{"c":"x"}],"e":"","k.y":5},"arr":[[1,2],[3]]}`},
		{"$.a.b[0]", "10"},
		{"$.a.b[1].c", "x"},
		{"$.a.b[-1].c", "x"},
		{`$.a["k.y"]`, "5"},
		{`$['a'].e`, ""},
		{"$.arr[0][1]", "2"},
		{"$.arr[1][0]", "3"},
		{"$.a.b[2]", "<missing>"},
		{"$.a.b[-3]", "<missing>"},
		{"$.a.b.c", "<missing>"},
		{"$.a.b[0].x", "<missing>"},
		{"$.nope", "<missing>"},
		{"$.a..b", "<error>"},
		{"$.a[x]", "<error>"},
		{"$.a[0", "<error>"},
		{"$a", "<error>"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			step := &scenarios.Step{Capture: []*scenarios.Capture{{Name: "v", From: tt.path}}}
			it := testSpec().NewIteration(0, 0)
			err := step.Apply(it, 200, nil, []byte(body))
			got := it.Vars["v"]
			switch {
			case err != nil && strings.Contains(err.Error(), "not found"):
				got = "<missing>"
			case err != nil:
				got = "<error>"
			}
			if got != tt.want {
				t.Errorf("got %q (%v), want %q", got, err, tt.want)
			}
		})
	}
}

func TestPick(t *testing.T) {
	spec := &scenarios.Spec{Workload: []*scenarios.Item{{Name: "a", Weight: 3}, {Name: "b", Weight: 1}}}
	n := map[string]int{}
	for seq := range uint64(4000) {
		n[spec.Pick(spec.NewIteration(seq, 1)).Name]++
	}
	if n["a"] < 2700 || n["a"] > 3300 {
		t.Errorf("picks %v, want about 3000 a", n)
	}
}

func BenchmarkExecute(b *testing.B) {
	spec := testSpec()
	tmpl := scenarios.MustTemplate("/v1/courses/course-{{ randint 1 50 }}/enrollments?u={{ user.email }}")
	it := spec.NewIteration(1, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tmpl.Execute(it); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuild(b *testing.B) {
	spec := testSpec()
	r := &scenarios.Request{Method: "GET", URL: scenarios.MustTemplate("/v1/courses/{{ course.id }}"),
		Headers: map[string]*scenarios.Template{"Idempotency-Key": scenarios.MustTemplate("{{ uuid }}")}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := r.Build(spec.NewIteration(uint64(i), 1), "http://127.0.0.1:8080"); err != nil {
			b.Fatal(err)
		}
	}
}
