package pgtemp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// ErrNotInstalled is returned (wrapped) by Start when no PostgreSQL server
// binaries can be found. Its message includes the install command.
var ErrNotInstalled = errors.New("postgresql server binaries (initdb, postgres) not found in PATH or /usr/lib/postgresql/*/bin; install them with: apt-get install postgresql")

// Options configure Start. The zero value is usable.
type Options struct {
	// Databases to create besides the default "postgres" database.
	Databases []string
	// MaxConnections is the server's max_connections (default 200).
	MaxConnections int
	// Logf, when set, receives the server's log output line by line.
	Logf func(format string, args ...any)
	// Dir, when set, is the cluster's directory instead of a new temporary one. A cluster
	// already in it (left by a process that was killed) is started again as it is, with its
	// data: the local lab restarts a killed database this way. Stop still removes it.
	Dir string
	// Port, when set, is the port to listen on instead of a free one (a restarted cluster
	// keeps its address).
	Port int
	// Durable turns synchronous_commit on, so that a commit is acknowledged only once its
	// WAL has reached the operating system: a killed server then loses no acknowledged
	// write. (fsync stays off: the machine itself does not crash in a test.)
	Durable bool
	// Sweep lists globs of more cluster directories to sweep (SweepStale) before the start,
	// besides the default academy-pg-* in os.TempDir().
	Sweep []string
	// Owners are other processes whose life keeps the directory in use (besides this one):
	// a sweep leaves the directory alone while one of them runs, even when no server does.
	Owners []int
}

// Cluster is a running throwaway cluster. Its methods are safe for
// concurrent use. Stop must be called exactly once the cluster is no longer
// needed; it is idempotent.
type Cluster struct {
	dir  string
	port int
	cmd  *exec.Cmd
	done chan struct{} // closed when the postgres process has exited
	stop sync.Once
	err  error
}

// Start creates and starts a cluster. ctx bounds start-up only; the cluster
// runs until Stop.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	bin, cred, uid, gid, err := setup(&opts)
	if err != nil {
		return nil, err
	}
	SweepStale(opts.Sweep...)
	dir, existing := opts.Dir, false
	if dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create cluster directory: %w", err)
		}
		_, err := os.Stat(filepath.Join(dir, "data", "PG_VERSION"))
		existing = err == nil
	} else {
		dir, err = os.MkdirTemp("", dirPrefix)
		if err != nil {
			return nil, fmt.Errorf("create cluster directory: %w", err)
		}
	}
	c := &Cluster{dir: dir, done: make(chan struct{})}
	fail := func(err error) (*Cluster, error) {
		c.Stop()
		return nil, err
	}
	if err := writeOwner(dir, opts.Owners); err != nil {
		return fail(fmt.Errorf("record cluster owner: %w", err))
	}
	if cred != nil {
		if err := os.Chown(dir, uid, gid); err != nil {
			return fail(fmt.Errorf("chown cluster directory to postgres: %w", err))
		}
	}
	data := filepath.Join(dir, "data")
	if existing {
		// A restart: the data is there; only the server is started again, once what its
		// killed predecessor left (lock file, shared memory) is cleared.
		if err := clearDeadServer(dir); err != nil {
			return fail(err)
		}
		if err := c.startServer(ctx, bin, data, opts.Port, cred, opts); err != nil {
			return fail(err)
		}
		return c, nil
	}
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", data, "-U", "postgres", "--auth=trust", "--no-locale", "-E", "UTF8", "--no-sync")
	initdb.Dir = dir
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("initdb: %w: %s", err, bytes.TrimSpace(out)))
	}
	if err := c.startOnPort(ctx, bin, data, cred, opts); err != nil {
		return fail(err)
	}
	if err := c.createDatabases(ctx, opts.Databases); err != nil {
		return fail(err)
	}
	return c, nil
}

// startOnPort starts the server on opts.Port, or on a free port: one can be taken by
// someone else between our probe and the server's bind, so that is tried a few times.
func (c *Cluster) startOnPort(ctx context.Context, bin, data string, cred *syscall.Credential, opts Options) error {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		port := opts.Port
		if port == 0 {
			if port, err = freePort(); err != nil {
				return err
			}
		}
		if err = c.startServer(ctx, bin, data, port, cred, opts); err == nil || ctx.Err() != nil {
			break
		}
	}
	return err
}

func (c *Cluster) startServer(ctx context.Context, bin, data string, port int, cred *syscall.Credential, opts Options) error {
	var logBuf syncBuffer
	cmd := exec.Command(filepath.Join(bin, "postgres"),
		"-D", data,
		"-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+c.dir,
		"-c", "fsync=off",
		"-c", "synchronous_commit="+map[bool]string{true: "on", false: "off"}[opts.Durable],
		"-c", "full_page_writes=off",
		"-c", "max_connections="+strconv.Itoa(opts.MaxConnections),
		"-c", "shared_buffers=128MB",
		// Dynamic shared memory in files under the data directory, not in /dev/shm:
		// removing the directory frees it, even after a SIGKILL.
		"-c", "dynamic_shared_memory_type=mmap",
	)
	cmd.Dir = c.dir
	cmd.Stdout = &logBuf
	cmd.Stderr = &logBuf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	done := make(chan struct{})
	// This goroutine ends when the postgres process exits (Stop ends it).
	go func() { _ = cmd.Wait(); close(done) }()
	c.cmd, c.done, c.port = cmd, done, port

	deadline := time.Now().Add(30 * time.Second)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		conn, err := pgx.Connect(cctx, c.URL("postgres"))
		cancel()
		if err == nil {
			_ = conn.Close(context.Background())
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("postgres exited during start-up: %s", strings.TrimSpace(logBuf.String()))
		case <-ctx.Done():
			c.kill()
			return fmt.Errorf("wait for postgres: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			c.kill()
			return fmt.Errorf("postgres not ready after 30s: %s", strings.TrimSpace(logBuf.String()))
		}
	}
}

func (c *Cluster) createDatabases(ctx context.Context, names []string) error {
	for _, name := range names {
		if err := c.CreateDatabase(ctx, name, ""); err != nil {
			return err
		}
	}
	return nil
}

// CreateDatabase creates database name, optionally as a copy of template
// (empty for the default template).
func (c *Cluster) CreateDatabase(ctx context.Context, name, template string) error {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return fmt.Errorf("connect to create database %q: %w", name, err)
	}
	defer conn.Close(context.Background())
	sql := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize()
	if template != "" {
		sql += " TEMPLATE " + pgx.Identifier{template}.Sanitize()
	}
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	return nil
}

// URL returns the connection URL of database name.
func (c *Cluster) URL(name string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.port, name)
}

// Port is the TCP port the cluster listens on (127.0.0.1 only).
func (c *Cluster) Port() int { return c.port }

// Dir is the temporary directory holding the cluster; Stop removes it.
func (c *Cluster) Dir() string { return c.dir }

// Stop shuts the server down (fast shutdown, then SIGKILL after 10s) and
// removes the directory with whatever a killed server left (Remove). It is
// idempotent and returns the first error.
func (c *Cluster) Stop() error {
	c.stop.Do(func() {
		if c.cmd != nil && c.cmd.Process != nil {
			_ = c.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
			select {
			case <-c.done:
			case <-time.After(10 * time.Second):
				c.kill()
				<-c.done
			}
		}
		if err := Remove(c.dir); err != nil {
			c.err = fmt.Errorf("remove cluster directory: %w", err)
		}
	})
	return c.err
}

// Kill ends the server at once (SIGKILL to its process group) and waits for it; a Stop
// under way or to come still frees its shared memory and removes the directory.
func (c *Cluster) Kill() { c.kill() }

func (c *Cluster) kill() {
	if c.cmd != nil && c.cmd.Process != nil {
		// Kill the process group: the postmaster and its backends.
		_ = syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
		<-c.done
	}
}

// FindBinDir returns the directory holding initdb and postgres: PATH first,
// then the newest /usr/lib/postgresql/*/bin.
func FindBinDir() (string, error) {
	if p, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(matches, func(i, j int) bool { return version(matches[i]) > version(matches[j]) })
	for _, dir := range matches {
		if _, err := os.Stat(filepath.Join(dir, "initdb")); err != nil {
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	return "", ErrNotInstalled
}

func version(binDir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return v
}

// setup finds the binaries and the credential to run them with, and fills opts' defaults.
func setup(opts *Options) (bin string, cred *syscall.Credential, uid, gid int, err error) {
	if bin, err = FindBinDir(); err != nil {
		return "", nil, 0, 0, err
	}
	if opts.MaxConnections <= 0 {
		opts.MaxConnections = 200
	}
	cred, uid, gid, err = credential()
	return bin, cred, uid, gid, err
}

// credential returns the credential to run the server as: nil when not
// root, the `postgres` user's otherwise.
func credential() (*syscall.Credential, int, int, error) {
	if os.Geteuid() != 0 {
		return nil, -1, -1, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, 0, 0, fmt.Errorf("running as root and PostgreSQL refuses to run as root, but no `postgres` user exists (install with: apt-get install postgresql): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, uid, gid, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 { // keep the tail bounded
		b.buf.Reset()
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
