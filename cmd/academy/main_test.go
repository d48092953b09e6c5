package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/internal/testutil/pgtest"
)

// start runs the command line in the background and returns the first line
// of its stdout, a function that stops it (as SIGINT would) and returns the
// exit code, and its stderr.
func start(t *testing.T, args ...string) (string, func() int, *testutil.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	stderr := &testutil.Buffer{}
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, args, strings.NewReader(""), pw, stderr, func(string) string { return "" })
		pw.Close()
	}()
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, pr)
	}()
	stop := func() int { cancel(); return <-code }
	select {
	case line, ok := <-lines:
		if !ok {
			t.Fatalf("%v exited with %d before printing: %s", args, stop(), stderr)
		}
		return line, stop, stderr
	case <-time.After(60 * time.Second):
		stop()
		t.Fatalf("%v printed nothing in 60s: %s", args, stderr)
	}
	return "", nil, nil
}

func TestServeOnThrowawayPostgres(t *testing.T) {
	pgtest.NeedPostgres(t)
	line, stop, stderr := start(t, "serve", "--addr", "127.0.0.1:0", "--seed-users", "5", "--seed-courses", "3", "--admin-token", "tok", "--rate-limit", "off",
		"--db-queue-wait", "1s", "--hash-concurrency", "1", "--hash-wait", "2s")
	base, ok := strings.CutPrefix(line, "listening on ")
	if !ok || !regexp.MustCompile(`^http://127\.0\.0\.1:[1-9][0-9]*$`).MatchString(base) {
		t.Fatalf("first line %q, want listening on http://127.0.0.1:PORT", line)
	}
	get := func(path string) (int, string) {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/readyz"); code != 200 || !strings.Contains(body, `"database":"ok"`) {
		t.Fatalf("readyz %d %s", code, body)
	}
	if code, body := get("/v1/courses/course-3"); code != 200 || !strings.Contains(body, `"slug":"course-3"`) {
		t.Fatalf("seeded course %d %s", code, body)
	}
	resp, err := http.Post(base+"/v1/sessions", "application/json", strings.NewReader(`{"email":"student-5@academy.test","password":"password-5"}`))
	if err != nil {
		t.Fatal(err)
	}
	var sess struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&sess)
	resp.Body.Close()
	if resp.StatusCode != 200 || sess.Token == "" {
		t.Fatalf("login %d", resp.StatusCode)
	}
	if code, _ := get("/"); code != 200 {
		t.Fatalf("landing page %d", code)
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit code %d: %s", code, stderr)
	}
	m := regexp.MustCompile(`throwaway postgres started" dir=(\S+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no cluster dir logged: %s", stderr)
	}
	if _, err := os.Stat(m[1]); !os.IsNotExist(err) {
		t.Fatalf("cluster dir %s left behind (%v)", m[1], err)
	}
}

func TestPostgresCommand(t *testing.T) {
	pgtest.NeedPostgres(t)
	line, stop, stderr := start(t, "postgres", "--shards", "2")
	urls, ok := strings.CutPrefix(line, "DATABASE_URL=")
	if !ok || len(strings.Split(urls, ",")) != 2 {
		t.Fatalf("line %q", line)
	}
	ctx := context.Background()
	first := strings.Split(urls, ",")[0]
	conn, err := pgx.Connect(ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	// migrate and seed work against it.
	var out bytes.Buffer
	if code := run(ctx, []string{"seed", "--database-url", urls, "--users", "3", "--courses", "2"}, nil, &out, &out, func(string) string { return "" }); code != 0 {
		t.Fatalf("seed: %d %s", code, out.String())
	}
	if !strings.Contains(out.String(), `"courses":2`) {
		t.Fatalf("seed output %s", out.String())
	}
	out.Reset()
	if code := run(ctx, []string{"migrate"}, nil, &out, &out, func(k string) string {
		if k == "ACADEMY_DATABASE_URL" {
			return urls
		}
		return ""
	}); code != 0 || !strings.Contains(out.String(), "applied 0 migration(s) on 2 shard(s)") {
		t.Fatalf("migrate: %d %s", code, out.String())
	}
	if code := stop(); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if _, err := pgx.Connect(ctx, first); err == nil {
		t.Fatal("postgres still running after stop")
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"serve", "--nope"}, {"frobnicate"}, {"migrate"}, {"serve", "--rate-limit", "lots"}, {"serve", "--hash-wait", "lots"}, {"serve", "--db-queue-wait", "-1"}} {
		var out bytes.Buffer
		if code := run(context.Background(), args, nil, &out, &out, func(string) string { return "" }); code != exitUsage {
			t.Errorf("%v: exit %d, want %d (%s)", args, code, exitUsage, out.String())
		}
	}
}
