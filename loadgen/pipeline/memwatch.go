package pipeline

import (
	"os"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/procfs"

	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// memoryInterval is how often watched processes' resident memory is read.
const memoryInterval = time.Second

// needsMemory reports whether the spec has memory thresholds (only then is memory watched).
func needsMemory(spec *scenarios.Spec) bool {
	for _, th := range spec.Thresholds {
		if th.Metric == "memory" {
			return true
		}
	}
	return false
}

// memWatch samples the resident memory of loadgen itself and of the processes pids returns
// (the lab's children by name; nil for none) once a second until stopped.
type memWatch struct {
	start time.Time
	pids  func() map[string]int
	fs    procfs.FS
	done  chan struct{}
	wg    sync.WaitGroup

	mu     sync.Mutex
	series map[string]*result.ProcessMemory
}

// startMemWatch starts sampling; start is the run's start, to which sample times are relative.
func startMemWatch(start time.Time, pids func() map[string]int) (*memWatch, error) {
	fs, err := procfs.NewDefaultFS()
	if err != nil {
		return nil, err
	}
	w := &memWatch{start: start, pids: pids, fs: fs, done: make(chan struct{}), series: map[string]*result.ProcessMemory{}}
	w.wg.Add(1)
	go func() { // ends when stop closes w.done
		defer w.wg.Done()
		t := time.NewTicker(memoryInterval)
		defer t.Stop()
		w.sample()
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
				w.sample()
			}
		}
	}()
	return w, nil
}

func (w *memWatch) sample() {
	procs := map[string]int{"loadgen": os.Getpid()}
	if w.pids != nil {
		for name, pid := range w.pids() {
			procs[name] = pid
		}
	}
	at := time.Since(w.start).Seconds()
	for name, pid := range procs {
		p, err := w.fs.Proc(pid)
		if err != nil {
			continue // gone (a killed replica): no sample this second
		}
		st, err := p.Stat()
		if err != nil {
			continue
		}
		w.mu.Lock()
		s := w.series[name]
		if s == nil {
			s = &result.ProcessMemory{Name: name}
			w.series[name] = s
		}
		s.Samples = append(s.Samples, result.MemSample{T: at, RSS: int64(st.ResidentMemory())})
		w.mu.Unlock()
	}
}

// stop ends the sampling and returns the series, sorted by process name.
func (w *memWatch) stop() []result.ProcessMemory {
	close(w.done)
	w.wg.Wait()
	out := make([]result.ProcessMemory, 0, len(w.series))
	for _, s := range w.series {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
