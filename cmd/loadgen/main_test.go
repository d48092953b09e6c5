package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/trendtactics/loadlab/internal/testutil"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"loadgen": func() { os.Exit(run(osProcess())) },
	})
}

func TestScripts(t *testing.T) {
	kube := testutil.Build(t, "../loadgen-kube") // loadgen k8s and loadgen chaos run it, from $PATH here
	testscript.Run(t, testscript.Params{
		Dir:           "testdata/script",
		UpdateScripts: testutil.Update(), // -update rewrites the scripts' cmp files
		Setup: func(env *testscript.Env) error {
			env.Setenv("PATH", kube+string(os.PathListSeparator)+env.Getenv("PATH"))
			return setup(env)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":     cmdExitcode,
			"interrupt":    cmdInterrupt,
			"scrape":       cmdScrape,
			"vegetaresult": cmdVegetaResult,
			"synthruns":    cmdSynthRuns,
		},
	})
}

// setup starts real HTTP servers on 127.0.0.1 for the script: $FAST_URL answers 200 at
// once, $ERR_URL answers 500, $SLOW_URL answers 200 after 300 ms; $SLEEP20_URL and
// $SLEEP40_URL after 20 and 40 ms.
func setup(env *testscript.Env) error {
	fast := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, `{"ok":true}`)
	}))
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	}))
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(300 * time.Millisecond):
			fmt.Fprintln(w, `{"ok":true}`)
		case <-r.Context().Done():
		}
	}))
	// $SLEEP20_URL and $SLEEP40_URL answer after 20 and 40 ms: a base and a slower new version.
	sleeper := func(d time.Duration) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(d):
				fmt.Fprintln(w, `{"ok":true}`)
			case <-r.Context().Done():
			}
		}))
	}
	sleep20, sleep40 := sleeper(20*time.Millisecond), sleeper(40*time.Millisecond)
	for _, s := range []*httptest.Server{fast, failing, slow, sleep20, sleep40} {
		env.Defer(s.Close)
	}
	env.Setenv("SLEEP20_URL", sleep20.URL)
	env.Setenv("SLEEP40_URL", sleep40.URL)
	env.Setenv("FAST_URL", fast.URL)
	env.Setenv("ERR_URL", failing.URL)
	env.Setenv("SLOW_URL", slow.URL)
	return nil
}

// exitcode N command [args...] runs the command (as exec does, keeping its stdout and
// stderr for cmp, stdout and stderr) and checks that it exits with code N.
func cmdExitcode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: exitcode N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", args[1], err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// subprocess starts a command of the script as a child with the script's
// working directory and variables; its output is kept in files NAME.stdout and NAME.stderr.
type subprocess struct {
	cmd            *exec.Cmd
	stdout, stderr testutil.Buffer
}

func startSub(ts *testscript.TestScript, args []string, stderr io.Writer) *subprocess {
	p := &subprocess{}
	p.cmd = exec.Command(args[0], args[1:]...)
	p.cmd.Dir = ts.MkAbs(".")
	p.cmd.Env = os.Environ()
	for _, k := range []string{"WORK", "HOME", "FAST_URL", "ERR_URL", "SLOW_URL"} {
		p.cmd.Env = append(p.cmd.Env, k+"="+ts.Getenv(k))
	}
	p.cmd.Stdout = &p.stdout
	p.cmd.Stderr = &p.stderr
	if stderr != nil {
		p.cmd.Stderr = io.MultiWriter(&p.stderr, stderr)
	}
	ts.Check(p.cmd.Start())
	return p
}

// wait waits for the child and saves its output as name.stdout and name.stderr.
func (p *subprocess) wait(ts *testscript.TestScript, name string) int {
	err := p.cmd.Wait()
	ts.Check(os.WriteFile(ts.MkAbs(name+".stdout"), p.stdout.Bytes(), 0o644))
	ts.Check(os.WriteFile(ts.MkAbs(name+".stderr"), p.stderr.Bytes(), 0o644))
	ts.Logf("[%s stdout]\n%s[%s stderr]\n%s", name, p.stdout.Bytes(), name, p.stderr.Bytes())
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("%s: %v", name, err)
		}
		return ee.ExitCode()
	}
	return 0
}

// interrupt [-TERM] DELAY N command [args...] starts the command, sends it SIGINT (or
// SIGTERM) after DELAY, and checks that it exits with code N. Output: interrupt.stdout, interrupt.stderr.
func cmdInterrupt(ts *testscript.TestScript, neg bool, args []string) {
	sig := syscall.SIGINT
	if len(args) > 0 && args[0] == "-TERM" {
		sig, args = syscall.SIGTERM, args[1:]
	}
	if neg || len(args) < 3 {
		ts.Fatalf("usage: interrupt [-TERM] DELAY N command [args...]")
	}
	delay, err := time.ParseDuration(args[0])
	ts.Check(err)
	want, err := strconv.Atoi(args[1])
	ts.Check(err)
	p := startSub(ts, args[2:], nil)
	time.Sleep(delay)
	ts.Check(p.cmd.Process.Signal(sig))
	if got := p.wait(ts, "interrupt"); got != want {
		ts.Fatalf("%s exited with %d after %v, want %d", args[2], got, sig, want)
	}
}

var metricsLine = regexp.MustCompile(`metrics: (http://\S+/metrics)`)

// scrape N command [args...] starts the command, waits for it to print its metrics
// address on stderr, scrapes it while the run is going (until the body mentions
// loadgen_, at most 5 s) into metrics.txt, and checks that the command exits with N.
func cmdScrape(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: scrape N command [args...]")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	pr, pw := io.Pipe()
	p := startSub(ts, args[1:], pw)
	found := make(chan string, 1)
	go func() { // ends when the pipe is closed after the child exits
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := metricsLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, pr)
	}()
	var body []byte
	select {
	case url := <-found:
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			resp, err := http.Get(url)
			if err == nil {
				body, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				if bytes.Contains(body, []byte("loadgen_")) {
					break
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
	}
	got := p.wait(ts, "scrape")
	pw.Close()
	ts.Check(os.WriteFile(ts.MkAbs("metrics.txt"), body, 0o644))
	if len(body) == 0 {
		ts.Fatalf("no metrics scraped during the run")
	}
	if got != want {
		ts.Fatalf("%s exited with %d, want %d", args[1], got, want)
	}
}

// vegetaresult FILE MIN decodes FILE with vegeta's own decoder and checks that it
// holds at least MIN results, every one aimed at 127.0.0.1.
func cmdVegetaResult(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 || len(args) > 3 {
		ts.Fatalf("usage: vegetaresult FILE MIN [MAX]")
	}
	min, err := strconv.Atoi(args[1])
	ts.Check(err)
	max := -1
	if len(args) == 3 {
		max, err = strconv.Atoi(args[2])
		ts.Check(err)
	}
	f, err := os.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	defer f.Close()
	dec := vegeta.NewDecoder(f)
	n := 0
	for {
		var r vegeta.Result
		if err := dec.Decode(&r); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			ts.Fatalf("decode result %d: %v", n, err)
		}
		if !strings.Contains(r.URL, "127.0.0.1") {
			ts.Fatalf("result %d: URL %q is not on 127.0.0.1", n, r.URL)
		}
		n++
	}
	ts.Logf("%d vegeta results", n)
	if n < min || max >= 0 && n > max {
		ts.Fatalf("%d results, want %d to %d", n, min, max)
	}
}
