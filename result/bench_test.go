package result_test

import (
	"testing"
	"time"

	"github.com/trendtactics/loadlab/result"
)

// BenchmarkRecord is the recorder's cost per sample (5 names, a fault window with slots).
func BenchmarkRecord(b *testing.B) {
	r := result.NewRecorder(start, []string{"a", "b", "c", "d", "e"}, windows)
	s := result.Sample{Code: 200, At: 4 * time.Second, Latency: 3 * time.Millisecond, Service: 2 * time.Millisecond}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		s.Name = i % 5
		s.Latency = time.Duration(1000+i%5000) * time.Microsecond
		r.Record(&s)
	}
}

// BenchmarkTick is the cost of closing one second (5 names, 1000 samples in it, a fault
// window with slots, no interval record): what the recorder spends once a second.
func BenchmarkTick(b *testing.B) {
	r := result.NewRecorder(start, []string{"a", "b", "c", "d", "e"}, windows)
	sec := 0
	b.ReportAllocs()
	for b.Loop() {
		for i := range 1000 {
			s := result.Sample{Name: i % 5, Code: 200, At: time.Duration(sec)*time.Second + time.Duration(i)*time.Millisecond,
				Latency: time.Duration(1000+i*37%20000) * time.Microsecond}
			r.Record(&s)
		}
		sec++
		r.Tick(start.Add(time.Duration(sec)*time.Second), 1000, 1000, nil, nil, false)
	}
}
