package lab_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/trendtactics/loadlab/chaos/lab"
	"github.com/trendtactics/loadlab/internal/testutil"
	"github.com/trendtactics/loadlab/scenarios"
)

// academyBin is the academy binary the labs of this package start, built once in TestMain.
var academyBin string

func TestMain(m *testing.M) {
	if os.Getenv("LAB_TEST_CHILD") == "1" {
		os.Exit(childLab())
	}
	dir, err := os.MkdirTemp("", "labtest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	academyBin = filepath.Join(dir, "academy")
	out, err := exec.Command("go", "build", "-o", academyBin, "github.com/trendtactics/loadlab/cmd/academy").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build academy: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func startLab(t *testing.T, cfg lab.Config) *lab.Lab {
	t.Helper()
	if cfg.Academy == nil {
		cfg.Academy = []string{academyBin}
	}
	if testing.Verbose() {
		cfg.Log = os.Stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	l, err := lab.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Stop(context.Background()) })
	return l
}

func get(t *testing.T, url string) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := http.Get(url)
	if err != nil {
		return 0, time.Since(start)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

// login is a request that always reaches the database (a password check).
func login(t *testing.T, base string) (int, time.Duration) {
	t.Helper()
	start := time.Now()
	resp, err := http.Post(base+"/v1/sessions", "application/json",
		strings.NewReader(`{"email":"student-1@academy.test","password":"password-1"}`))
	if err != nil {
		return 0, time.Since(start)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, time.Since(start)
}

func TestLabServesAndStopsClean(t *testing.T) {
	l := startLab(t, lab.Config{Replicas: 2, Cache: "redis", Seed: scenarios.LabSeed{Users: 20, Courses: 3, Seed: 7}})
	for range 4 {
		if code, _ := get(t, l.URL()+"/v1/courses"); code != 200 {
			t.Fatalf("GET /v1/courses through the edge = %d, want 200", code)
		}
	}
	if code, _ := login(t, l.URL()); code != 200 {
		t.Fatalf("login of a seeded student = %d, want 200", code)
	}
	pids := l.PIDs()
	if len(pids) < 4 {
		t.Fatalf("PIDs() = %v, want postgres, redis and 2 replicas", pids)
	}
	url := l.URL()
	l.Stop(context.Background())
	noneAlive(t, pids)
	if _, err := http.Get(url + "/healthz"); err == nil {
		t.Errorf("edge %s still answers after Stop", url)
	}
}

// The lab's Redis is bounded and evicts: found when random-case catalog queries stored one
// key per request in a Redis with no memory limit.
func TestLabRedisIsBounded(t *testing.T) {
	l := startLab(t, lab.Config{Replicas: 1, Cache: "redis"})
	opts, err := redis.ParseURL(l.CacheURL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	got, err := rdb.ConfigGet(context.Background(), "maxmemory*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if got["maxmemory"] != "268435456" || got["maxmemory-policy"] != lab.RedisMaxMemoryPolicy {
		t.Fatalf("the lab's redis has maxmemory %q and maxmemory-policy %q, want 268435456 (%s) and %s",
			got["maxmemory"], got["maxmemory-policy"], lab.RedisMaxMemory, lab.RedisMaxMemoryPolicy)
	}
}

// stubbornAcademy returns an academy command whose replicas outlive SIGTERM: after the
// academy has shut down, its wrapper stays, ignoring SIGTERM, until it is killed.
func stubbornAcademy(t *testing.T) []string {
	t.Helper()
	script := filepath.Join(t.TempDir(), "stubborn-academy")
	body := fmt.Sprintf("#!/bin/sh\nif [ \"$1\" = serve ]; then trap '' TERM; '%s' \"$@\"; exec sleep 3600; fi\nexec '%s' \"$@\"\n", academyBin, academyBin)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return []string{script}
}

func TestStopKillsWhatIsLeftWhenTheContextEnds(t *testing.T) {
	l := startLab(t, lab.Config{Replicas: 1, Cache: "none", Academy: stubbornAcademy(t)})
	pids := l.PIDs()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	begin := time.Now()
	err := l.Stop(ctx)
	// A replica's grace is 10 s: a Stop that waited for it instead of killing when its 1 s
	// context ended takes that long (how much over 1 s it takes is the machine's).
	if took := time.Since(begin); took >= 10*time.Second {
		t.Errorf("Stop took %v with a 1s context; want it to kill what is left once the context ends", took)
	}
	if err == nil || !strings.Contains(err.Error(), "academy-1 killed: context deadline exceeded") {
		t.Errorf("Stop() = %v, want it to name the replica it killed", err)
	}
	noneAlive(t, pids)
	if err := l.Stop(context.Background()); err == nil {
		t.Error("a second Stop returned nil, want the first one's error")
	}
}

func TestSecondStopHurriesTheFirst(t *testing.T) {
	l := startLab(t, lab.Config{Replicas: 1, Cache: "none", Academy: stubbornAcademy(t)})
	pids := l.PIDs()
	first := make(chan error, 1)
	go func() { first <- l.Stop(context.Background()) }()
	time.Sleep(500 * time.Millisecond) // the first Stop now waits for the replica's grace period
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a second Ctrl-C: stop now
	begin := time.Now()
	l.Stop(ctx)
	// Below the replica's 10 s grace, which the first Stop is waiting out.
	if took := time.Since(begin); took >= 10*time.Second {
		t.Errorf("a Stop with a cancelled context took %v while another Stop was under way", took)
	}
	select {
	case <-first:
	case <-time.After(5 * time.Second):
		t.Fatal("the first Stop did not return after the second one's context ended")
	}
	noneAlive(t, pids)
}

// noneAlive reports each child of PIDs that is still alive after Stop.
func noneAlive(t *testing.T, pids map[string]int) {
	t.Helper()
	for name, pid := range pids {
		if testutil.Running(pid) {
			t.Errorf("%s (pid %d) still alive after Stop", name, pid)
		}
	}
}

func fault(name, kind, target string, params map[string]string) *scenarios.Fault {
	return &scenarios.Fault{Name: name, Kind: kind, Target: target, Params: params, Toxicity: 1}
}

func TestDatabaseDelayBeginsAndEnds(t *testing.T) {
	l := startLab(t, lab.Config{Replicas: 1, Cache: "memory", Seed: scenarios.LabSeed{Users: 5, Courses: 1, Seed: 1}})
	before := median(t, func() (int, time.Duration) { return login(t, l.URL()) })
	inj, err := l.Resolve(fault("slow-db", "network.delay", "database", map[string]string{"latency": "50ms"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := inj.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	during := median(t, func() (int, time.Duration) { return login(t, l.URL()) })
	if err := inj.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := median(t, func() (int, time.Duration) { return login(t, l.URL()) })
	if during < before+50*time.Millisecond {
		t.Errorf("login median %v before, %v during a 50ms database delay: want at least 50ms more", before, during)
	}
	if after > before+25*time.Millisecond {
		t.Errorf("login median %v after the fault ended, %v before: the delay did not stop", after, before)
	}
}

func median(t *testing.T, f func() (int, time.Duration)) time.Duration {
	t.Helper()
	var ds []time.Duration
	for range 7 {
		code, d := f()
		if code != 200 {
			t.Fatalf("status %d, want 200", code)
		}
		ds = append(ds, d)
	}
	for i := range ds {
		for j := i + 1; j < len(ds); j++ {
			if ds[j] < ds[i] {
				ds[i], ds[j] = ds[j], ds[i]
			}
		}
	}
	return ds[len(ds)/2]
}

func TestReplicaKillFailsOverAndRestarts(t *testing.T) {
	l := startLab(t, lab.Config{Replicas: 2, Cache: "memory"})
	inj, err := l.Resolve(&scenarios.Fault{Name: "kill", Kind: "process.kill", Target: "app", Mode: "one",
		Params: map[string]string{"restart-after": "300ms"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := inj.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if code, _ := get(t, l.URL()+"/healthz"); code != 200 {
			t.Fatalf("request %d with one replica killed = %d, want 200 (failover to the other)", i, code)
		}
	}
	if err := inj.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	for name, pid := range l.PIDs() {
		if !testutil.Running(pid) {
			t.Errorf("%s not running after the kill fault was rolled back", name)
		}
	}
}

func TestHTTPAbortBeginsAndEnds(t *testing.T) {
	l := startLab(t, lab.Config{Replicas: 2, Cache: "memory", Seed: scenarios.LabSeed{Users: 5, Courses: 2, Seed: 1}})
	inj, err := l.Resolve(fault("abort", "http.abort", "/v1/courses", map[string]string{"method": "GET", "status": "503"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := inj.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if code, _ := get(t, l.URL()+"/v1/courses"); code != 503 {
			t.Fatalf("GET /v1/courses during an abort fault = %d, want 503", code)
		}
	}
	if err := inj.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, l.URL()+"/v1/courses"); code != 200 {
		t.Fatalf("GET /v1/courses after the fault = %d, want 200", code)
	}
}

func TestReplicaPauseStallsUntilResumed(t *testing.T) {
	l := startLab(t, lab.Config{Replicas: 1, Cache: "memory"})
	inj, err := l.Resolve(&scenarios.Fault{Name: "pause", Kind: "process.pause", Target: "app", Mode: "all"})
	if err != nil {
		t.Fatal(err)
	}
	if err := inj.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := http.Client{Timeout: 300 * time.Millisecond}
	if _, err := c.Get(l.URL() + "/healthz"); err == nil {
		t.Fatal("a paused replica answered")
	}
	if err := inj.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, _ := get(t, l.URL()+"/healthz"); code != 200 {
		t.Fatalf("after resume: %d, want 200", code)
	}
}

// childLab is the body of a harness process that the test kills with SIGKILL: it starts a
// lab, prints its children's pids, and waits to be killed.
func childLab() int {
	l, err := lab.Start(context.Background(), lab.Config{Replicas: 2, Cache: "redis", Academy: []string{os.Getenv("LAB_TEST_ACADEMY")}})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	b, _ := json.Marshal(l.PIDs())
	fmt.Println(string(b))
	time.Sleep(time.Minute)
	return 0
}

func TestKilledHarnessLeavesNothing(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "LAB_TEST_CHILD=1", "LAB_TEST_ACADEMY="+academyBin)
	line := testutil.StartLine(t, cmd)
	var pids map[string]int
	if err := json.Unmarshal([]byte(line), &pids); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child lab said %q", line)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for name, pid := range pids {
		for testutil.Running(pid) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if testutil.Running(pid) {
			t.Errorf("%s (pid %d) outlived the killed harness", name, pid)
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func TestDatabasePauseStallsUntilResumed(t *testing.T) {
	l := startLab(t, lab.Config{Replicas: 1, Cache: "memory", Seed: scenarios.LabSeed{Users: 5, Courses: 1, Seed: 1}})
	if code, _ := login(t, l.URL()); code != 200 {
		t.Fatalf("login before the fault = %d", code)
	}
	inj, err := l.Resolve(&scenarios.Fault{Name: "pause-db", Kind: "process.pause", Target: "database"})
	if err != nil {
		t.Fatal(err)
	}
	if err := inj.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := http.Client{Timeout: 500 * time.Millisecond}
	resp, err := c.Post(l.URL()+"/v1/sessions", "application/json",
		strings.NewReader(`{"email":"student-2@academy.test","password":"password-2"}`))
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("a login succeeded while the database was paused")
		}
	}
	if err := inj.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	if code, _ := login(t, l.URL()); code != 200 {
		t.Fatalf("login after the database resumed = %d, want 200", code)
	}
}

func TestDatabaseKillRestartsWithItsData(t *testing.T) {
	l := startLab(t, lab.Config{Replicas: 1, Cache: "memory", Seed: scenarios.LabSeed{Users: 5, Courses: 1, Seed: 1}})
	// A registration is a write that must survive the kill.
	resp, err := http.Post(l.URL()+"/v1/users", "application/json",
		strings.NewReader(`{"email":"durable@academy.test","password":"durable-password","name":"Durable"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("register = %d, want 201", resp.StatusCode)
	}
	inj, err := l.Resolve(&scenarios.Fault{Name: "kill-db", Kind: "process.kill", Target: "database",
		Params: map[string]string{"restart-after": "500ms"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := inj.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := http.Client{Timeout: 2 * time.Second}
	if resp, err := c.Post(l.URL()+"/v1/sessions", "application/json",
		strings.NewReader(`{"email":"durable@academy.test","password":"durable-password"}`)); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("a login succeeded while the database was down")
		}
	}
	if err := inj.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := c.Post(l.URL()+"/v1/sessions", "application/json",
			strings.NewReader(`{"email":"durable@academy.test","password":"durable-password"}`))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the user registered before the kill cannot log in after the restart: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestResolvesEveryLocalFaultKind checks the lab against the fault kinds scenarios knows:
// each kind the lab is said to inject resolves, each other kind is refused.
func TestResolvesEveryLocalFaultKind(t *testing.T) {
	l := startLab(t, lab.Config{Replicas: 1, Cache: "none", DBReplicas: 1}) // database.replica-lag needs one
	sample := map[scenarios.ParamKind]string{
		scenarios.ParamDuration: "50ms", scenarios.ParamDurationOrZero: "0s", scenarios.ParamSignedDuration: "-5m",
		scenarios.ParamByteRate: "1mb", scenarios.ParamBytes: "10kb", scenarios.ParamPercent: "50%",
		scenarios.ParamStatus: "503", scenarios.ParamCount: "1", scenarios.ParamMethod: "GET",
		scenarios.ParamRoute: "/v1/courses", scenarios.ParamString: "x", scenarios.ParamDirection: "both",
	}
	for name, kind := range scenarios.FaultKinds() {
		params := map[string]string{}
		for _, p := range kind.Params {
			switch {
			case p.Required:
				params[p.Name] = sample[p.Kind]
			case p.Default != "":
				params[p.Name] = p.Default
			}
		}
		target := "app"
		if len(kind.Targets) > 0 && !strings.HasPrefix(kind.Targets[0], "/") {
			target = kind.Targets[0]
		}
		f := &scenarios.Fault{Name: "f", Kind: name, Target: target, Duration: time.Second, Params: params, Mode: kind.DefaultMode}
		_, err := l.Resolve(f)
		if kind.Local && err != nil {
			t.Errorf("Resolve(%s on %s %v) = %v, want an injector", name, target, params, err)
		}
		if !kind.Local && err == nil {
			t.Errorf("Resolve(%s) = nil error, want it refused: the lab has no such fault", name)
		}
	}
}

// TestStartFailsWithoutPanicking: an academy command that cannot start (the guardian fails
// at once) is an error, and the cleanup of the half-started lab does not panic on it.
func TestStartFailsWithoutPanicking(t *testing.T) {
	l, err := lab.Start(context.Background(), lab.Config{Academy: []string{"/bin/false"}})
	if err == nil {
		l.Stop(context.Background())
		t.Fatal("started with /bin/false as the academy")
	}
}
