package lab_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/chaos/lab"
	"github.com/trendtactics/loadlab/internal/testutil"
)

// The leftover tests kill a harness (testdata/harness, a program that starts a lab through
// this package) with SIGKILL before, during or after a fault of each local family, and then
// look for anything of its lab: a process (stopped or not), a listening port, the database
// directory, a shared memory segment. By default they run a representative subset of the
// matrix (9 cases, about 30 s); LAB_LEFTOVER_MATRIX=full runs every family in every phase
// (11 families × 3 phases: 33 cases, about 80 s):
//
//	LAB_LEFTOVER_MATRIX=full go test -run TestKilledHarnessMatrix ./chaos/lab/

// leftoverBound is how long the lab's remains may take to go after the harness is killed.
// The guardian takes well under a second; the bound is generous for a loaded CI machine.
const leftoverBound = 10 * time.Second

func harness(t *testing.T) string {
	t.Helper()
	return filepath.Join(testutil.Build(t, "./testdata/harness"), "harness")
}

type leftoverCase struct {
	name, kind, target, params, cache string
	dbReplicas                        int
}

var leftoverFamilies = []leftoverCase{
	{"network-database", "network.delay", "database", "latency=100ms", "memory", 0},
	{"network-edge-down", "network.down", "edge", "", "memory", 0},
	{"network-cache-bandwidth", "network.bandwidth", "cache", "rate=1kb/s", "redis", 0},
	{"kill-database-restart-pending", "process.kill", "database", "restart-after=1h", "memory", 0},
	{"kill-cache-restart-pending", "process.kill", "cache", "restart-after=1h", "redis", 0},
	{"kill-app-restart-pending", "process.kill", "app", "restart-after=1h", "memory", 0},
	{"pause-database", "process.pause", "database", "", "memory", 0},
	{"pause-cache", "process.pause", "cache", "", "redis", 0},
	{"pause-app", "process.pause", "app", "", "memory", 0},
	{"http-abort", "http.abort", "app", "status=503,route=/v1/courses", "memory", 0},
	{"replica-lag", "database.replica-lag", "database", "", "memory", 1},
}

// ciSubset is the matrix of a normal run: a family of each mechanism (proxy, kill with a
// restart pending, pause, the academy's fault API, paused replay on the database's
// standbys) once during its fault, where the harm is greatest, and the three phases of the
// hardest case, a paused database.
var ciSubset = []string{
	"network-database/during", "kill-database-restart-pending/during", "pause-database/before",
	"pause-database/during", "pause-database/after", "pause-cache/during", "pause-app/during", "http-abort/during",
	"replica-lag/during",
}

func TestKilledHarnessMatrix(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Skip("redis-server is not installed")
	}
	full := os.Getenv("LAB_LEFTOVER_MATRIX") == "full"
	for _, c := range leftoverFamilies {
		for _, phase := range []string{"before", "during", "after"} {
			name := c.name + "/" + phase
			if !full && !slices.Contains(ciSubset, name) {
				continue
			}
			t.Run(name, func(t *testing.T) { killHarness(t, c, phase) })
		}
	}
}

func killHarness(t *testing.T, c leftoverCase, phase string) {
	cmd := exec.Command(harness(t), "-academy", academyBin, "-cache", c.cache, "-db-replicas", strconv.Itoa(c.dbReplicas),
		"-kind", c.kind, "-target", c.target, "-params", c.params, "-phase", phase)
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if line := testutil.StartLine(t, cmd); line != "go" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("harness said %q", line)
	}
	before := snapshot(cmd.Process.Pid)
	if before.dir == "" {
		t.Errorf("no database directory of the lab found (a loadlab-db-* directory owned by the harness, pid %d)", cmd.Process.Pid)
	}
	if c.kind == "process.pause" && phase == "during" && !before.stopped() {
		t.Errorf("no process of the lab is stopped during a pause: %v", before.procs)
	}
	killed := time.Now()
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	var left []string
	for {
		left = before.leftovers()
		if len(left) == 0 || time.Since(killed) > leftoverBound {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(left) > 0 {
		t.Errorf("%v after SIGKILL of the harness, left: %s", leftoverBound, strings.Join(left, "; "))
		before.clean()
		return
	}
	t.Logf("lab of %d processes, %d ports, %d segments gone %v after SIGKILL of the harness",
		len(before.procs), len(before.ports), len(before.segments), time.Since(killed).Round(time.Millisecond))
}

// labState is what a lab holds: its processes (pid → start time), the ports they listen
// on, its database directory and the shared memory segments its processes created.
type labState struct {
	procs    map[int]string
	states   map[int]string
	ports    []string
	dir      string
	segments []string
}

func snapshot(harnessPid int) labState {
	s := labState{procs: map[int]string{}, states: map[int]string{}}
	table := procTable()
	frontier := []int{harnessPid}
	for len(frontier) > 0 {
		parent := frontier[0]
		frontier = frontier[1:]
		for pid, p := range table {
			if p.ppid == parent {
				s.procs[pid], s.states[pid] = p.start, p.state
				frontier = append(frontier, pid)
			}
		}
	}
	inodes := map[string]bool{}
	for pid := range s.procs {
		fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		for _, fd := range fds {
			l, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
			if in, ok := strings.CutPrefix(l, "socket:["); ok {
				inodes[strings.TrimSuffix(in, "]")] = true
			}
		}
	}
	s.dir = labDir(harnessPid)
	for _, l := range listening() {
		if inodes[l[1]] {
			s.ports = append(s.ports, l[0])
		}
	}
	for _, seg := range segments() {
		if cpid, _ := strconv.Atoi(seg[1]); s.procs[cpid] != "" {
			s.segments = append(s.segments, seg[0])
		}
	}
	return s
}

// labDir returns the database directory of the harness's lab: the loadlab-db-* directory
// whose owner file names the harness (pgtemp's "pid starttime" lines). It is found by its
// owner, not from a running process's --dir, because while a killed database waits for its
// restart no process names the directory.
func labDir(harnessPid int) string {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "loadlab-db-*"))
	for _, dir := range dirs {
		owners, _ := os.ReadFile(filepath.Join(dir, "owner"))
		for line := range strings.Lines(string(owners)) {
			if f := strings.Fields(line); len(f) > 0 && f[0] == strconv.Itoa(harnessPid) {
				return dir
			}
		}
	}
	return ""
}

func (s labState) stopped() bool {
	for _, st := range s.states {
		if st == "T" || st == "t" {
			return true
		}
	}
	return false
}

// leftovers lists what of s is still there.
func (s labState) leftovers() []string {
	var left []string
	table := procTable()
	for pid, start := range s.procs {
		if p, ok := table[pid]; ok && p.start == start && p.state != "Z" {
			left = append(left, fmt.Sprintf("process %d (%s) in state %s", pid, comm(pid), p.state))
		}
	}
	for _, l := range listening() {
		if slices.Contains(s.ports, l[0]) {
			left = append(left, "port "+l[0])
		}
	}
	if s.dir != "" {
		if _, err := os.Stat(s.dir); err == nil {
			left = append(left, "directory "+s.dir)
		}
	}
	for _, seg := range segments() {
		cpid, _ := strconv.Atoi(seg[1])
		if slices.Contains(s.segments, seg[0]) || s.procs[cpid] != "" {
			left = append(left, "shared memory segment "+seg[0])
		}
	}
	slices.Sort(left)
	return left
}

// clean removes what a failed case left, so that it does not spoil the next ones.
func (s labState) clean() {
	for pid, start := range s.procs {
		if p, ok := procTable()[pid]; ok && p.start == start {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
	for _, id := range s.segments {
		exec.Command("ipcrm", "-m", id).Run()
	}
}

type procEntry struct {
	ppid         int
	state, start string
}

func procTable() map[int]procEntry {
	m := map[int]procEntry{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		if len(f) < 20 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		m[pid] = procEntry{ppid: ppid, state: f[0], start: f[19]}
	}
	return m
}

func comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}

// listening returns the listening TCP sockets as {local address (hex), inode}.
func listening() [][2]string {
	var out [][2]string
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, _ := os.ReadFile(f)
		for line := range strings.Lines(string(b)) {
			fs := strings.Fields(line)
			if len(fs) > 9 && fs[3] == "0A" { // TCP_LISTEN
				out = append(out, [2]string{fs[1], fs[9]})
			}
		}
	}
	return out
}

// segments returns the System V shared memory segments as {shmid, creator pid}.
func segments() [][2]string {
	var out [][2]string
	b, _ := os.ReadFile("/proc/sysvipc/shm")
	for line := range strings.Lines(string(b)) {
		fs := strings.Fields(line)
		if len(fs) > 4 && fs[0] != "key" {
			out = append(out, [2]string{fs[1], fs[4]})
		}
	}
	return out
}

// TestLaterRunSweepsAnOlderLabsLeftovers leaves what an older version of the lab left when
// its harness was killed during a pause of the database: a loadlab-db-* directory whose
// owner is dead, with its `academy postgres`, postmaster and backends stopped and their
// shared memory attached. The next lab's start sweeps it all.
func TestLaterRunSweepsAnOlderLabsLeftovers(t *testing.T) {
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("loadlab-db-stale%d", os.Getpid()))
	old := exec.Command(academyBin, "postgres", "--dir", dir)
	out, err := old.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Start(); err != nil {
		t.Fatal(err)
	}
	defer old.Wait()
	if line, err := bufio.NewReader(out).ReadString('\n'); !strings.HasPrefix(line, "DATABASE_URL=") {
		old.Process.Kill()
		t.Fatalf("academy postgres said %q (%v)", line, err)
	}
	stale := snapshot(os.Getpid())
	var pids []int
	for pid := range stale.procs {
		if pid == old.Process.Pid || stale.procs[pid] != "" && isDescendant(pid, old.Process.Pid) {
			pids = append(pids, pid)
		}
	}
	for _, pid := range pids {
		syscall.Kill(pid, syscall.SIGSTOP)
	}
	if err := os.WriteFile(filepath.Join(dir, "owner"), fmt.Appendf(nil, "%d 1\n", testutil.DeadPID(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	var segs []string
	for _, seg := range segments() {
		if cpid, _ := strconv.Atoi(seg[1]); slices.Contains(pids, cpid) {
			segs = append(segs, seg[0])
		}
	}
	if len(segs) == 0 {
		t.Fatal("the stale cluster has no shared memory segment: the test sets up the wrong thing")
	}

	startLab(t, lab.Config{Replicas: 1, Cache: "none"})

	var left []string
	if _, err := os.Stat(dir); err == nil {
		left = append(left, "directory "+dir)
	}
	table := procTable()
	for _, pid := range pids {
		if p, ok := table[pid]; ok && p.start == stale.procs[pid] && p.state != "Z" {
			left = append(left, fmt.Sprintf("process %d (%s) in state %s", pid, comm(pid), p.state))
		}
	}
	for _, seg := range segments() {
		if slices.Contains(segs, seg[0]) {
			left = append(left, "shared memory segment "+seg[0])
		}
	}
	if len(left) > 0 {
		t.Errorf("the next lab's start left an older lab's %s", strings.Join(left, "; "))
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		os.RemoveAll(dir)
		for _, id := range segs {
			exec.Command("ipcrm", "-m", id).Run()
		}
	}
}

func isDescendant(pid, of int) bool {
	table := procTable()
	for i := 0; i < 64 && pid > 1; i++ {
		pid = table[pid].ppid
		if pid == of {
			return true
		}
	}
	return false
}
