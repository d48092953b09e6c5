package result_test

import (
	"testing"
	"time"
	"unsafe"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/trendtactics/loadlab/result"
)

// Each second's timeline point carries that second's latency histogram, the total's
// holding every name's samples; with one request name the total's point shares the
// name's encoding (one string a second, not two: the timeline is what grows with a run's
// length), with two it is their sum.
func TestTimelineHistograms(t *testing.T) {
	for _, names := range [][]string{{"get"}, {"get", "post"}} {
		in := samples(3, 3000, 4)
		r := result.NewRecorder(start, names, nil)
		for sec := range in {
			for i := range in[sec] {
				in[sec][i].Name %= len(names)
				r.Record(&in[sec][i])
			}
			r.Tick(start.Add(time.Duration(sec+1)*time.Second), 0, 0, nil, nil, false)
		}
		res := r.Result(start.Add(time.Duration(len(in))*time.Second), true)
		for sec := range in {
			want := map[int]*hdrhistogram.Histogram{-1: result.NewHistogram()}
			for _, s := range in[sec] {
				if s.Out == result.OutSkipped || s.NoLatency {
					continue
				}
				for _, key := range []int{-1, s.Name} {
					if want[key] == nil {
						want[key] = result.NewHistogram()
					}
					_ = want[key].RecordValue(result.Micros(s.Latency))
				}
			}
			total := res.Total.Timeline[sec].HDR
			for key, h := range want {
				enc, what := total, "total"
				if key >= 0 {
					enc, what = res.Requests[key].Timeline[sec].HDR, names[key]
				}
				got, err := result.DecodeHistogram(enc)
				if err != nil {
					t.Fatalf("%d names, second %d, %s: %v", len(names), sec, what, err)
				}
				if !got.Equals(h) {
					t.Errorf("%d names, second %d, %s: %d samples, p99 %d; want %d, p99 %d", len(names), sec, what, got.TotalCount(), got.ValueAtQuantile(99), h.TotalCount(), h.ValueAtQuantile(99))
				}
			}
			shared := unsafe.StringData(total) == unsafe.StringData(res.Requests[0].Timeline[sec].HDR)
			if shared != (len(names) == 1) {
				t.Errorf("%d names, second %d: the total's encoding shared with the first name's: %v", len(names), sec, shared)
			}
		}
	}
}
