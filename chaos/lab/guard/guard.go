package guard

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Ready is the line the guardian prints on stdout once it reads its stdin.
const Ready = "guarding"

// Options configure Serve.
type Options struct {
	// RemoveDir removes a directory the lab named (os.RemoveAll if nil).
	RemoveDir func(dir string) error
	// Log receives one line per action (io.Discard if nil).
	Log io.Writer
}

// Serve reads the lab's messages from r until EOF or until ctx is done, then ends every
// watched process group and removes every named directory. It returns once that is done.
func Serve(ctx context.Context, r io.Reader, opts Options) error {
	if opts.RemoveDir == nil {
		opts.RemoveDir = os.RemoveAll
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	var mu sync.Mutex
	groups := map[int]bool{}
	var dirs []string
	eof := make(chan struct{})
	// The reader ends at EOF of r; if ctx ends first, it is left blocked until the process exits.
	go func() {
		defer close(eof)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			verb, arg, _ := strings.Cut(sc.Text(), " ")
			mu.Lock()
			switch verb {
			case "watch", "forget":
				if n, err := strconv.Atoi(arg); err == nil && n > 1 {
					if verb == "watch" {
						groups[n] = true
					} else {
						delete(groups, n)
					}
				}
			case "dir":
				if arg != "" && !slices.Contains(dirs, arg) {
					dirs = append(dirs, arg)
				}
			}
			mu.Unlock()
		}
	}()
	select {
	case <-eof:
	case <-ctx.Done():
	}
	mu.Lock()
	defer mu.Unlock()
	watched := make([]int, 0, len(groups))
	for g := range groups {
		watched = append(watched, g)
	}
	all := End(watched)
	if len(all) > 0 {
		fmt.Fprintf(opts.Log, "guard: ended process groups %v\n", all)
	}
	var errs []error
	for _, d := range dirs {
		if err := opts.RemoveDir(d); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", d, err))
		}
	}
	return errors.Join(errs...)
}

// End sends SIGCONT then SIGKILL to the given process groups and to the groups of their
// members' descendants, waits (up to 5 s) until none of their processes is alive (a zombie
// is not: it holds no port, no memory), and returns every group it signalled.
func End(groups []int) []int {
	if len(groups) == 0 {
		return nil
	}
	procs := Processes()
	all := slices.Clone(groups)
	for pid, p := range procs {
		if slices.Contains(groups, p.PGID) {
			for _, g := range procs.descendantGroups(pid) {
				if !slices.Contains(all, g) {
					all = append(all, g)
				}
			}
		}
	}
	slices.Sort(all)
	for _, g := range all {
		syscall.Kill(-g, syscall.SIGCONT)
		syscall.Kill(-g, syscall.SIGKILL)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && Processes().anyIn(all) {
		time.Sleep(10 * time.Millisecond)
	}
	return all
}

// Process is one entry of /proc.
type Process struct {
	PPID, PGID int
	State      byte // R, S, T, Z ...
}

// Table maps pids to their processes.
type Table map[int]Process

// Processes reads /proc.
func Processes() Table {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	t := Table{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 3 || len(f[0]) == 0 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		pgid, _ := strconv.Atoi(f[2])
		t[n] = Process{PPID: ppid, PGID: pgid, State: f[0][0]}
	}
	return t
}

// Descendants returns the pids of pid's descendants and the process groups, other than
// pid's own, that they belong to.
func (t Table) Descendants(pid int) (pids, groups []int) {
	seen := map[int]bool{pid: true}
	frontier := []int{pid}
	for len(frontier) > 0 {
		parent := frontier[0]
		frontier = frontier[1:]
		for n, p := range t {
			if p.PPID == parent && !seen[n] {
				seen[n] = true
				frontier = append(frontier, n)
				pids = append(pids, n)
				if p.PGID != pid && !slices.Contains(groups, p.PGID) {
					groups = append(groups, p.PGID)
				}
			}
		}
	}
	return pids, groups
}

func (t Table) descendantGroups(pid int) []int {
	_, g := t.Descendants(pid)
	return g
}

// anyIn reports whether a live (not zombie) process belongs to one of groups.
func (t Table) anyIn(groups []int) bool {
	for _, p := range t {
		if p.State != 'Z' && slices.Contains(groups, p.PGID) {
			return true
		}
	}
	return false
}

// Alive reports whether pid is a live process: not gone, not a zombie.
func Alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i >= 0 && i+2 < len(b) && b[i+2] != 'Z'
}

// Client is the lab's end of the pipe. Its methods are safe for concurrent use; after
// Close they do nothing.
type Client struct {
	mu  sync.Mutex
	w   *os.File
	cmd *exec.Cmd
}

// Start starts the guardian with argv (the academy's `guard` command) in a process group
// of its own, without a parent-death signal, and waits until it reads its stdin.
// Its stderr goes to log.
func Start(ctx context.Context, argv []string, log io.Writer) (*Client, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = r
	cmd.Stderr = log
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		w.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("start guardian: %w", err)
	}
	c := &Client{w: w, cmd: cmd}
	ready := make(chan bool, 1)
	// The reader ends when the guardian closes its stdout (at its exit at the latest).
	go func() {
		sc := bufio.NewScanner(out)
		ok := sc.Scan() && sc.Text() == Ready
		ready <- ok
		io.Copy(io.Discard, out)
	}()
	select {
	case ok := <-ready:
		if ok {
			return c, nil
		}
	case <-ctx.Done():
	case <-time.After(30 * time.Second):
	}
	w.Close()
	cmd.Process.Kill()
	cmd.Wait()
	return nil, fmt.Errorf("guardian %q did not start (an academy without the guard command? rebuild it): %v", strings.Join(argv, " "), cmd.ProcessState)
}

// Pid is the guardian's process id.
func (c *Client) Pid() int { return c.cmd.Process.Pid }

// Watch asks the guardian to end process group pgid if the harness dies.
func (c *Client) Watch(pgid int) { c.send("watch", strconv.Itoa(pgid)) }

// Forget tells the guardian that group pgid has ended (its id may be reused).
func (c *Client) Forget(pgid int) { c.send("forget", strconv.Itoa(pgid)) }

// Dir asks the guardian to remove dir if the harness dies.
func (c *Client) Dir(dir string) { c.send("dir", dir) }

func (c *Client) send(verb, arg string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.w != nil {
		fmt.Fprintf(c.w, "%s %s\n", verb, arg)
	}
}

// Close closes the pipe: the guardian ends whatever is still watched, removes the
// directories, and exits; Close waits for that.
func (c *Client) Close() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	w := c.w
	c.w = nil
	c.mu.Unlock()
	if w == nil {
		return nil
	}
	w.Close()
	return c.cmd.Wait()
}
