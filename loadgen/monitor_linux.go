//go:build linux

package loadgen

import (
	"runtime"
	"sync"
	"syscall"
	"time"
)

// The Go runtime's monitor thread (sysmon) goes into a deep sleep whenever every processor (P)
// is idle, until the next timer is due or until some goroutine makes a system call, which
// wakes it; awake, it polls every 20 µs before it checks again. A generator at a moderate rate
// is idle between its sends and makes system calls for each of them, so the monitor slept and
// woke once or twice a request: at 5000/s on one core the process made 1.3–2.3 context
// switches a request, most of them the monitor's, and the monitor had 14 % of its CPU samples.
//
// holdMonitor keeps it from that sleep: one goroutine stays in a system call (a 5 ms
// nanosleep, in a loop), so one P is always "in a system call", never idle, and the monitor
// polls at its slowest period (10 ms) instead. The runtime takes a P back from a system call
// when it sees the same call twice and the P has queued work, or no other P is idle, or the
// call has lasted 10 ms (retake in runtime/proc.go): the goroutine renews its call every 5 ms,
// which a monitor polling every 10 ms never sees twice, and reschedules (a new scheduling tick
// on its P, or the runtime would preempt it). That P does no work of the run's: GOMAXPROCS is
// raised by one while a hold is on, and put back when the last one is released. The
// goroutine's cost is 200 short wake-ups a second (1.5 % of the CPU at 5000/s).
var monitorHold struct {
	sync.Mutex
	runs int           // holds on
	base int           // GOMAXPROCS before the first hold
	stop chan struct{} // closed to end the holding goroutine
	done chan struct{} // closed when it has ended
}

// monitorRenew is how long each of the holding goroutine's system calls lasts: below the
// runtime's 10 ms, after which it would take the P back.
const monitorRenew = 5 * time.Millisecond

// holdMonitor starts holding (or joins the hold already on) and returns the processors left
// for the run's own work and the release, which ends the hold when it is the last one, after
// the holding goroutine has ended. Holds may overlap (runs in one process).
func holdMonitor() (procs int, release func()) {
	h := &monitorHold
	h.Lock()
	defer h.Unlock()
	if h.runs == 0 {
		h.base = runtime.GOMAXPROCS(0)
		runtime.GOMAXPROCS(h.base + 1)
		h.stop, h.done = make(chan struct{}), make(chan struct{})
		go holdSyscall(h.stop, h.done) // ends when the last hold is released
	}
	h.runs++
	var once sync.Once
	return h.base, func() { once.Do(releaseMonitor) }
}

func releaseMonitor() {
	h := &monitorHold
	h.Lock()
	defer h.Unlock()
	if h.runs--; h.runs > 0 {
		return
	}
	close(h.stop)
	<-h.done
	if runtime.GOMAXPROCS(0) != h.base+1 { // someone else set it meanwhile
		return
	}
	// Setting GOMAXPROCS stops the runtime from following the CPU limit (cgroup) from then on:
	// back to the default when it is what the hold started from, else to what it was.
	runtime.SetDefaultGOMAXPROCS()
	if runtime.GOMAXPROCS(0) != h.base {
		runtime.GOMAXPROCS(h.base)
	}
}

// loadProcs returns the processors for a run's own work: GOMAXPROCS, less the one a hold
// keeps in a system call.
func loadProcs() int {
	h := &monitorHold
	h.Lock()
	defer h.Unlock()
	if h.runs > 0 {
		return h.base
	}
	return runtime.GOMAXPROCS(0)
}

// holdSyscall sleeps in system calls of monitorRenew until stop is closed.
func holdSyscall(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	ts := syscall.NsecToTimespec(int64(monitorRenew))
	for {
		select {
		case <-stop:
			return
		default:
		}
		// syscall.Nanosleep enters the runtime's system-call state (entersyscall), as a
		// blocking call must, which is what keeps the P from being idle.
		_ = syscall.Nanosleep(&ts, nil)
		runtime.Gosched() // a new scheduling tick, or the runtime would preempt after 10 ms
	}
}
