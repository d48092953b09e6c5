package pgtemp

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ownerFile names, inside a cluster directory, the processes that own it
// ("pid starttime", one a line: the one that started the server and any
// Options.Owners), so that a later Start can remove the directories of owners
// that were killed before they could clean up (SIGKILL).
const ownerFile = "owner"

// dirPrefix prefixes every cluster directory in os.TempDir().
const dirPrefix = "academy-pg-"

func writeOwner(dir string, others []int) error {
	var b []byte
	for _, pid := range append([]int{os.Getpid()}, others...) {
		b = fmt.Appendf(b, "%d %s\n", pid, stat(pid).start)
	}
	return os.WriteFile(filepath.Join(dir, ownerFile), b, 0o644)
}

// procStat is what a sweep needs of /proc/PID/stat; the zero value is a process that is gone.
type procStat struct {
	state byte   // R, S, T, Z ...
	ppid  int    // parent
	pgid  int    // process group
	start string // start time since boot: tells a process from a new one that reuses its pid
}

func stat(pid int) procStat {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}
	}
	// The command name (field 2) may hold spaces: count fields after ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 || len(f[0]) == 0 {
		return procStat{}
	}
	ppid, _ := strconv.Atoi(f[1])
	pgid, _ := strconv.Atoi(f[2])
	return procStat{state: f[0][0], ppid: ppid, pgid: pgid, start: f[19]}
}

// running reports whether a process is alive: not gone, not a zombie.
func (s procStat) running() bool { return s.state != 0 && s.state != 'Z' }

// alive reports whether one of the processes recorded as "pid starttime"
// lines runs. A stopped process whose parent is init counts as dead: it is
// what an older lab left when it was killed during a pause, and nothing will
// ever continue it.
func alive(record string) bool {
	for line := range strings.Lines(record) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		pid, err := strconv.Atoi(f[0])
		if err != nil || pid <= 0 {
			continue
		}
		s := stat(pid)
		if !s.running() || (len(f) > 1 && s.start != f[1]) {
			continue
		}
		if (s.state == 'T' || s.state == 't') && s.ppid == 1 {
			continue
		}
		return true
	}
	return false
}

// SweepStale removes the cluster directories left by owners that died
// without Stop (for example killed with SIGKILL): academy-pg-* in
// os.TempDir() and those matching the given globs. Remove ends every process
// still running in one (even a stopped one) and frees its shared memory. A
// directory without an owner file (made by another tool or an older build)
// is removed only when it is over a minute old and no server runs in it. It
// is best effort and returns the directories it removed; Start calls it.
func SweepStale(globs ...string) []string {
	var removed []string
	for _, g := range append([]string{filepath.Join(os.TempDir(), dirPrefix+"*")}, globs...) {
		dirs, _ := filepath.Glob(g)
		for _, dir := range dirs {
			owner, err := os.ReadFile(filepath.Join(dir, ownerFile))
			switch {
			case err != nil:
				st, serr := os.Stat(dir)
				if serr != nil || !st.IsDir() || time.Since(st.ModTime()) < time.Minute || postmasterPID(dir) > 0 {
					continue
				}
			case alive(string(owner)):
				continue
			}
			if Remove(dir) == nil {
				removed = append(removed, dir)
			}
		}
	}
	return removed
}

// Remove removes the cluster directory dir and whatever a server that ran there left:
// it kills (SIGCONT, SIGKILL) the processes of the cluster, even stopped ones (the
// postmaster named in its lock file and its process group, every process working in the
// directory, every process naming it on its command line, such as the `academy postgres`
// that started it, but not the calling process), waits until they are gone, frees the
// System V shared memory segment named in the lock file, and removes the directory. The
// standbys in the directory (StartStandby) are removed the same way first.
// A directory that does not exist is no error.
func Remove(dir string) error {
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	// Its standbys first (StartStandby): their servers and shared memory are their own.
	removeStandbys(dir)
	pids := clusterProcesses(dir)
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGCONT)
		syscall.Kill(pid, syscall.SIGKILL)
	}
	if pm := postmasterPID(dir); pm > 0 {
		syscall.Kill(-pm, syscall.SIGCONT)
		syscall.Kill(-pm, syscall.SIGKILL)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for stat(pid).running() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	freeSharedMemory(dir)
	return os.RemoveAll(dir)
}

// clearDeadServer readies dir for a restart after its server was killed: if the
// postmaster of the lock files no longer runs (gone, or a zombie its new parent has not
// reaped yet), the segment it named is freed and the lock files (the data directory's and
// the socket's) removed, so that the new server neither waits for the reaping nor refuses
// to start.
func clearDeadServer(dir string) error {
	pm := lockPID(dir)
	if pm == 0 {
		return nil
	}
	if postmasterPID(dir) > 0 {
		return fmt.Errorf("a postgres server (pid %d) still runs in %s", pm, dir)
	}
	freeSharedMemory(dir)
	locks, _ := filepath.Glob(filepath.Join(dir, ".s.PGSQL.*.lock"))
	for _, lock := range append(locks, filepath.Join(dir, "data", "postmaster.pid")) {
		if err := os.Remove(lock); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove the killed server's lock file: %w", err)
		}
		os.Remove(strings.TrimSuffix(lock, ".lock")) // the socket of a .s.PGSQL.PORT.lock
	}
	return nil
}

// clusterProcesses returns the live processes of the cluster in dir, other than this one.
func clusterProcesses(dir string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	pm := postmasterPID(dir)
	in := func(p string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		s := stat(pid)
		if !s.running() {
			continue
		}
		mine := pm > 0 && (pid == pm || s.pgid == pm)
		if cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err == nil && in(cwd) {
			mine = true
		}
		if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); err == nil && !mine {
			for arg := range strings.SplitSeq(string(cmdline), "\x00") {
				_, v, ok := strings.Cut(arg, "=") // --dir=D
				if in(arg) || (ok && in(v)) {
					mine = true
					break
				}
			}
		}
		if mine {
			pids = append(pids, pid)
		}
	}
	return pids
}

// lockPID returns the pid in dir's postmaster.pid, or 0.
func lockPID(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// postmasterPID returns the pid of a postgres server running in dir, or 0.
func postmasterPID(dir string) int {
	pid := lockPID(dir)
	if pid == 0 || !stat(pid).running() {
		return 0
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil || !strings.HasSuffix(exe, "/postgres") {
		return 0
	}
	return pid
}

// freeSharedMemory removes the System V segment that dir's lock file names (line 7:
// "key shmid"), if a segment with that id and key still exists. PostgreSQL does not mark
// it for removal, so one that a killed server leaves stays until someone does; once
// marked, it is freed when its last process detaches.
func freeSharedMemory(dir string) {
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 7 {
		return
	}
	f := strings.Fields(lines[6])
	if len(f) != 2 {
		return
	}
	key, err1 := strconv.ParseInt(f[0], 10, 64)
	id, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || !segmentExists(id, key) {
		return
	}
	const ipcRMID = 0
	syscall.Syscall(syscall.SYS_SHMCTL, uintptr(id), ipcRMID, 0)
}

// segmentExists reports whether /proc/sysvipc/shm lists segment id with key.
func segmentExists(id int, key int64) bool {
	b, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		return false
	}
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) > 2 && f[0] == strconv.FormatInt(key, 10) && f[1] == strconv.Itoa(id) {
			return true
		}
	}
	return false
}
