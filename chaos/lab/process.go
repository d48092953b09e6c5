package lab

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/trendtactics/loadlab/chaos/lab/guard"
)

// process is one child of the lab: started in its own process group, so that a signal
// reaches everything it started in turn (a PostgreSQL postmaster and its backends), with a
// parent-death signal, and watched by the lab's guardian, which ends its groups, stopped
// or not, if the harness dies.
type process struct {
	name string
	argv []string
	env  []string
	log  io.Writer
	// ready, if set, is called with each line of the child's stdout until it returns true.
	ready func(line string) bool
	// guard, if set, is told each process group of the child (nil in unit tests).
	guard *guard.Client

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when the current cmd has been waited for
	paused  bool
	stopped bool
}

// start starts the child and waits until ready reports true (or the child exits, or ctx ends).
// started, if not nil, is called as soon as the child runs. The lock is not held while it
// waits, so that stop and kill can end a child that is starting.
// errExitedEarly is wrapped by start's error when the child exited before it was ready.
var errExitedEarly = errors.New("exited before it was ready")

func (p *process) start(ctx context.Context, started func()) error {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return fmt.Errorf("%s: lab is stopping", p.name)
	}
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	cmd.Stderr = prefixWriter(p.log, p.name)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		p.mu.Unlock()
		return err
	}
	if err := cmd.Start(); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.cmd = cmd
	p.guard.Watch(cmd.Process.Pid)
	if started != nil {
		started()
	}
	fmt.Fprintf(p.log, "lab: started %s pid %d\n", p.name, cmd.Process.Pid)
	done := make(chan struct{})
	p.done = done
	readyc := make(chan struct{})
	// The reader goroutine ends when the child closes its stdout (at its exit at the latest).
	go func() {
		sc := bufio.NewScanner(stdout)
		isReady := p.ready == nil
		if isReady {
			close(readyc)
		}
		for sc.Scan() {
			line := sc.Text()
			if !isReady && p.ready(line) {
				isReady = true
				close(readyc)
			}
			fmt.Fprintf(p.log, "%s | %s\n", p.name, line)
		}
		io.Copy(io.Discard, stdout)
		cmd.Wait()
		close(done)
	}()
	p.mu.Unlock()
	select {
	case <-readyc:
		return nil
	case <-done:
		return fmt.Errorf("%s %w: %v", p.name, errExitedEarly, cmd.ProcessState)
	case <-ctx.Done():
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.cmd == cmd {
			p.killLocked()
		}
		return ctx.Err()
	}
}

// signal sends sig to the child's whole process group.
func (p *process) signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.signalLocked(sig)
}

func (p *process) signalLocked(sig syscall.Signal) error {
	if p.cmd == nil || p.cmd.Process == nil {
		return fmt.Errorf("%s is not running", p.name)
	}
	// The child's own group first, then the groups its descendants made for themselves
	// (the throwaway PostgreSQL puts its postmaster and backends in a group of their own).
	// The groups are read before any signal: a killed child's descendants are re-parented.
	groups := append(descendantGroups(p.cmd.Process.Pid), p.cmd.Process.Pid)
	for _, pgid := range groups {
		if err := syscall.Kill(-pgid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("signal %s to %s: %w", sig, p.name, err)
		}
	}
	switch sig {
	case syscall.SIGSTOP:
		p.paused = true
	case syscall.SIGCONT:
		p.paused = false
	}
	return nil
}

// pauseWait bounds how long pause waits for the child's processes to stop.
const pauseWait = 5 * time.Second

// pause sends SIGSTOP to the child's groups and waits until every process of them is
// stopped: kill(2) returns before the signal takes effect, and a pause is in force (and
// its start time true) only once no process of the child can run.
func (p *process) pause() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.signalLocked(syscall.SIGSTOP); err != nil {
		return err
	}
	pid := p.cmd.Process.Pid
	for deadline := time.Now().Add(pauseWait); ; {
		running := runningIn(guard.Processes(), pid)
		if running == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pause %s: %d processes still running %v after SIGSTOP", p.name, running, pauseWait)
		}
		time.Sleep(time.Millisecond)
	}
}

// runningIn counts pid and its descendants that are neither stopped nor zombies.
func runningIn(t guard.Table, pid int) int {
	pids, _ := t.Descendants(pid)
	n := 0
	for _, d := range append(pids, pid) {
		if pr, ok := t[d]; ok && pr.State != 'T' && pr.State != 't' && pr.State != 'Z' && pr.State != 'X' {
			n++
		}
	}
	return n
}

// kill sends SIGKILL to the group and waits for the child to be reaped.
func (p *process) kill() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.killLocked()
}

func (p *process) killLocked() {
	if p.cmd == nil {
		return
	}
	desc, groups := guard.Processes().Descendants(p.cmd.Process.Pid)
	p.signalLocked(syscall.SIGKILL)
	<-p.done
	p.endedLocked(desc, groups)
}

// endedLocked waits until the descendants of an exited child are dead too, then tells the
// guardian that the child's group has ended (the guardian finds the groups of a watched
// child's descendants, such as PostgreSQL's postmaster and backends, each in a group of its
// own, when it needs them). Dead means gone or a zombie: a zombie holds no port,
// no memory, and the init process of a container may take seconds to reap it (a restarted
// PostgreSQL clears the lock file of a postmaster that is a zombie). What is still alive
// after 5 s is killed.
func (p *process) endedLocked(desc, groups []int) {
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range desc {
		for guard.Alive(pid) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
	groups = append(groups, p.cmd.Process.Pid)
	for _, pid := range desc {
		if guard.Alive(pid) {
			guard.End(groups)
			break
		}
	}
	p.guard.Forget(p.cmd.Process.Pid)
}

// running reports whether the child is alive (not yet reaped).
func (p *process) running() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// stop ends the child for good: SIGCONT (a paused child can't act on SIGTERM), SIGTERM,
// then SIGKILL after grace or as soon as ctx is done (at once if it already is). No later
// start succeeds. The error says that the child was killed because ctx ended.
func (p *process) stop(ctx context.Context, grace time.Duration) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stopped = true
	if p.cmd == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	if ctx.Err() == nil {
		desc, groups := guard.Processes().Descendants(p.cmd.Process.Pid)
		p.signalLocked(syscall.SIGCONT)
		p.signalLocked(syscall.SIGTERM)
		timer := time.NewTimer(grace)
		defer timer.Stop()
		select {
		case <-p.done:
			p.endedLocked(desc, groups)
			return nil
		case <-timer.C:
			p.killLocked()
			return nil
		case <-ctx.Done():
		}
	}
	p.killLocked()
	return fmt.Errorf("%s killed: %w", p.name, ctx.Err())
}

func (p *process) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// descendantGroups returns the process groups, other than pid's own, of pid's descendants.
func descendantGroups(pid int) []int {
	_, groups := guard.Processes().Descendants(pid)
	return groups
}

// prefixWriter writes each complete line prefixed with the child's name. exec.Cmd copies the
// child's stderr into it from its own goroutine, which ends at Wait.
func prefixWriter(w io.Writer, name string) io.Writer { return &lineWriter{w: w, prefix: name + " ! "} }

type lineWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (l *lineWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, b...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			break
		}
		fmt.Fprintf(l.w, "%s%s\n", l.prefix, strings.TrimRight(string(l.buf[:i]), "\r"))
		l.buf = l.buf[i+1:]
	}
	if len(l.buf) > 64<<10 { // a child that never ends its line must not grow this without bound
		l.buf = l.buf[:0]
	}
	return len(b), nil
}
