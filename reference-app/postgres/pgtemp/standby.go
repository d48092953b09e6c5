package pgtemp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// standbyPrefix prefixes the directories of a cluster's standbys, inside its own directory:
// removing the primary's directory (Remove) removes its standbys too.
const standbyPrefix = "standby-"

// portFile keeps a standby's port in its directory, so that a standby restarted after a
// kill listens where its clients expect it.
const portFile = "port"

// StartStandby starts a streaming-replication standby of c named name (a hot standby:
// it answers read-only queries), in the directory c.Dir()/standby-NAME. The first start
// copies the primary with pg_basebackup -R (which writes standby.signal and
// primary_conninfo); a standby already in that directory (left by a kill) is started again
// with its data, on the port it had. opts.Port chooses the port of a new standby (0: a
// free one); opts.Databases and opts.Dir are not used. The standby runs until its own
// Stop; Stop of the primary (Remove) ends and removes it too.
func (c *Cluster) StartStandby(ctx context.Context, name string, opts Options) (*Cluster, error) {
	bin, cred, uid, gid, err := setup(&opts)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(c.dir, standbyPrefix+name)
	s := &Cluster{dir: dir, done: make(chan struct{})}
	fail := func(err error) (*Cluster, error) {
		s.Stop()
		return nil, fmt.Errorf("standby %s: %w", name, err)
	}
	data := filepath.Join(dir, "data")
	if _, err := os.Stat(filepath.Join(data, "PG_VERSION")); err == nil {
		b, err := os.ReadFile(filepath.Join(dir, portFile))
		port, perr := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || perr != nil {
			return fail(fmt.Errorf("read its port: %v %v", err, perr))
		}
		if err := clearDeadServer(dir); err != nil {
			return fail(err)
		}
		if err := s.startServer(ctx, bin, data, port, cred, opts); err != nil {
			return fail(err)
		}
		return s, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("standby %s: create directory: %w", name, err)
	}
	if cred != nil {
		if err := os.Chown(dir, uid, gid); err != nil {
			return fail(fmt.Errorf("chown directory to postgres: %w", err))
		}
	}
	basebackup, err := binTool(bin, "pg_basebackup")
	if err != nil {
		return fail(err)
	}
	backup := exec.CommandContext(ctx, basebackup,
		"-h", "127.0.0.1", "-p", strconv.Itoa(c.port), "-U", "postgres", "-D", data,
		"-R", "-X", "stream", "--checkpoint=fast", "--no-sync")
	backup.Dir = dir
	backup.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGKILL}
	if out, err := backup.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("pg_basebackup: %w: %s", err, bytes.TrimSpace(out)))
	}
	if err := s.startOnPort(ctx, bin, data, cred, opts); err != nil {
		return fail(err)
	}
	if err := os.WriteFile(filepath.Join(dir, portFile), []byte(strconv.Itoa(s.port)+"\n"), 0o644); err != nil {
		return fail(fmt.Errorf("record its port: %w", err))
	}
	return s, nil
}

// standbyDirs returns the standby directories inside the cluster directory dir.
func standbyDirs(dir string) []string {
	dirs, _ := filepath.Glob(filepath.Join(dir, standbyPrefix+"*"))
	return dirs
}

// removeStandbys ends the servers of dir's standbys and frees their shared memory (their
// files go with dir).
func removeStandbys(dir string) error {
	var errs []error
	for _, d := range standbyDirs(dir) {
		if err := Remove(d); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// binTool finds another program of the PostgreSQL installation whose bin directory is bin:
// there, else beside the real file of bin/postgres (bin may hold links to some programs
// only, such as /usr/local/bin), else in PATH.
func binTool(bin, name string) (string, error) {
	if p := filepath.Join(bin, name); fileExists(p) {
		return p, nil
	}
	if real, err := filepath.EvalSymlinks(filepath.Join(bin, "postgres")); err == nil {
		if p := filepath.Join(filepath.Dir(real), name); fileExists(p) {
			return p, nil
		}
	}
	p, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found beside postgres in %s nor in PATH: %w", name, bin, err)
	}
	return p, nil
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }
