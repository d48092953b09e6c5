package remote_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/chaos"
	"github.com/trendtactics/loadlab/chaos/remote"
	"github.com/trendtactics/loadlab/scenarios"
)

// The tests run this test binary again as the child (REMOTE_CHILD_LOG set): it serves
// faults whose injectors write what they are asked to do to that file, one line each.
func TestMain(m *testing.M) {
	if log := os.Getenv("REMOTE_CHILD_LOG"); log != "" {
		if err := remote.Serve(os.Stdin, os.Stdout, recorderOpener(log), 5*time.Second, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func recorderOpener(log string) remote.Opener {
	return func(a remote.OpenArgs) (chaos.Resolver, remote.OpenReply, error) {
		if a.Kubernetes.Namespace == "refuse" {
			return nil, remote.OpenReply{}, errors.New("namespace refuse is refused")
		}
		f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			return nil, remote.OpenReply{}, err
		}
		return &recorder{f: f}, remote.OpenReply{Run: "r-" + a.Name, Label: "test/run"}, nil
	}
}

type recorder struct {
	mu sync.Mutex
	f  *os.File
}

func (r *recorder) write(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fmt.Fprintf(r.f, format+"\n", args...)
}

func (r *recorder) Resolve(f *scenarios.Fault) (chaos.Injector, error) {
	if f.Kind == "unknown" {
		return nil, fmt.Errorf("fault kind %s has no form here", f.Kind)
	}
	return &recorded{r: r, f: *f}, nil
}

type recorded struct {
	r *recorder
	f scenarios.Fault
}

func (in *recorded) Inject(ctx context.Context) error {
	_, hasDeadline := ctx.Deadline()
	in.r.write("inject %s %s deadline=%v", in.f.Name, in.f.Params["latency"], hasDeadline)
	if in.f.Kind == "refused" {
		return errors.New("the server refused " + in.f.Name)
	}
	return nil
}

func (in *recorded) Rollback(ctx context.Context) error {
	in.r.write("rollback %s", in.f.Name)
	return nil
}

func start(t *testing.T, namespace string) (*remote.Client, remote.OpenReply, string, error) {
	t.Helper()
	log := t.TempDir() + "/log"
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "REMOTE_CHILD_LOG="+log)
	cmd.Stderr = os.Stderr
	spec := &scenarios.Spec{Name: "s", Target: scenarios.Target{Kubernetes: &scenarios.Kubernetes{Namespace: namespace}}}
	c, reply, err := remote.Start(context.Background(), cmd, spec)
	if err == nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	return c, reply, log, err
}

// closeAndCheck closes the connection, waits for the child to exit, and checks what it did.
func closeAndCheck(t *testing.T, c *remote.Client, log, want string) {
	t.Helper()
	if err := c.Close(); err != nil {
		t.Fatalf("the child exited with %v", err)
	}
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Errorf("the child did:\n%s\nwant:\n%s", b, want)
	}
}

// The faults resolve, inject and roll back in the child, with their parameters and the
// caller's deadline; the child's errors come back with their messages.
func TestRoundTrip(t *testing.T) {
	c, reply, log, err := start(t, "ns")
	if err != nil {
		t.Fatal(err)
	}
	if reply != (remote.OpenReply{Run: "r-s", Label: "test/run"}) {
		t.Errorf("reply %+v", reply)
	}
	slow, err := c.Resolve(&scenarios.Fault{Name: "slow", Kind: "network.delay", Params: map[string]string{"latency": "50ms"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Resolve(&scenarios.Fault{Name: "x", Kind: "unknown"}); err == nil || err.Error() != "fault kind unknown has no form here" {
		t.Errorf("resolve of an unknown kind: %v", err)
	}
	refused, err := c.Resolve(&scenarios.Fault{Name: "no", Kind: "refused"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := slow.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	if err := refused.Inject(context.Background()); err == nil || err.Error() != "the server refused no" {
		t.Errorf("inject refused: %v", err)
	}
	if err := slow.Rollback(context.Background()); err != nil {
		t.Fatal(err)
	}
	// no: injected (refused, but maybe half done) and not rolled back, so the child rolls it
	// back when its input ends; slow was rolled back already.
	closeAndCheck(t, c, log, "inject slow 50ms deadline=true\ninject no  deadline=false\nrollback slow\nrollback no\n")
}

// A child whose parent goes away (its stdin ends) rolls back what is still injected,
// newest first, and exits.
func TestChildRollsBackWhenParentGoes(t *testing.T) {
	c, _, log, err := start(t, "ns")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "c"} {
		inj, err := c.Resolve(&scenarios.Fault{Name: name, Kind: "network.down"})
		if err != nil {
			t.Fatal(err)
		}
		if name != "b" {
			if err := inj.Inject(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	closeAndCheck(t, c, log, "inject a  deadline=false\ninject c  deadline=false\nrollback c\nrollback a\n")
	if err := c.Close(); err != nil { // again: the same answer
		t.Errorf("second Close: %v", err)
	}
}

// An Open the child refuses is an error of Start, with the child's message; the child is
// stopped again.
func TestOpenRefused(t *testing.T) {
	_, _, _, err := start(t, "refuse")
	if err == nil || !strings.Contains(err.Error(), "namespace refuse is refused") {
		t.Fatalf("Start: %v", err)
	}
}
