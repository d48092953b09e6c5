package cluster

import (
	"bytes"
	"io"
	"strconv"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/trendtactics/loadlab/result"
)

// intervals returns the messages of secs interval records of a worker at 1000 requests a
// second over two request names and a fault window, as they go on the wire.
func intervals(tb testing.TB, secs int) [][]byte {
	tb.Helper()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := result.NewRecorder(start, []string{"catalog", "enroll"}, []result.Window{{Name: "slow-db", Start: 2 * time.Second, End: 5 * time.Second}})
	var out [][]byte
	for sec := range secs {
		for i := range 1000 {
			s := result.Sample{Name: i % 2, Code: 200, At: time.Duration(sec)*time.Second + time.Duration(i)*time.Millisecond,
				Latency: time.Duration(1000+i*37%20000) * time.Microsecond}
			s.Service = s.Latency - time.Duration(i%7)*100*time.Microsecond // a little lateness
			rec.Record(&s)
		}
		iv := rec.Tick(start.Add(time.Duration(sec+1)*time.Second), 1000, 1000, []uint64{500, 500}, []uint64{500, 500}, true)
		iv.Scenario, iv.Seed = "bench", 1
		if err := toWire(iv); err != nil {
			tb.Fatal(err)
		}
		m, err := cborEnc.Marshal(&message{Type: msgInterval, Interval: iv})
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// inOrder is the coordinator's input of a run: every worker's interval of the first
// second, then every worker's of the next, and so on; msgs are a worker's intervals of
// successive seconds, each sent by per workers, and the seconds start over after the last.
type inOrder struct {
	msgs   [][]byte
	per    int
	served int // messages read
	off    int // in the current message
}

func (r *inOrder) Read(p []byte) (int, error) {
	m := r.msgs[(r.served/r.per)%len(r.msgs)]
	n := copy(p, m[r.off:])
	if r.off += n; r.off == len(m) {
		r.off = 0
		r.served++
	}
	return n, nil
}

// BenchmarkWorkerSecond is the coordinator's work for one worker-second (an op): decode
// the worker's interval message and merge it into the run's figures, merged once a second
// for all workers together as Run does (here 1000 workers). The ops come in a run's order:
// the 1000 workers' intervals of one second, then of the next, through the seconds of a
// 10-second run (before, in and after the fault window, whose recovery slots the later
// seconds carry), then again. ns/op is the coordinator's CPU per worker-second; 1000
// workers cost 1000 × ns/op each second. SetBytes is the mean message size: MB/s is the
// wire's rate.
func BenchmarkWorkerSecond(b *testing.B) {
	const workers, secs = 1000, 10
	msgs := intervals(b, secs)
	size := 0
	for _, m := range msgs {
		size += len(m)
	}
	b.SetBytes(int64(size / len(msgs)))
	b.ReportAllocs()
	var cum *result.Result
	var pending []*result.Result
	dec := cborDec.NewDecoder(&inOrder{msgs: msgs, per: workers})
	for b.Loop() {
		var m message
		if err := dec.Decode(&m); err != nil {
			b.Fatal(err)
		}
		if err := checkInterval(m.Interval); err != nil {
			b.Fatal(err)
		}
		fromWire(m.Interval)
		pending = append(pending, m.Interval)
		if len(pending) == workers {
			in := pending
			if cum != nil {
				in = append([]*result.Result{cum}, pending...)
			}
			var err error
			if cum, err = result.Merge(in...); err != nil {
				b.Fatal(err)
			}
			pending = pending[:0]
		}
	}
}

// BenchmarkResultsSink is the coordinator's cost per request of a results file (--results)
// with workers: decode a worker's vegeta stream and encode each result into the file's
// (an op: 1000 results; ns/result is the figure).
func BenchmarkResultsSink(b *testing.B) {
	var stream bytes.Buffer
	enc := vegeta.NewEncoder(&stream)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 1000 {
		r := vegeta.Result{Attack: "bench", Seq: uint64(i), Code: 200, Timestamp: at.Add(time.Duration(i) * time.Millisecond),
			Latency: 3 * time.Millisecond, BytesIn: 512, Method: "GET", URL: "http://127.0.0.1:8080/courses?n=" + strconv.Itoa(i)}
		if err := enc.Encode(&r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		k := &resultsSink{enc: vegeta.NewEncoder(io.Discard)}
		pr, pw := io.Pipe()
		k.wg.Add(1)
		go k.copy(pr, 0, func(string, ...any) {}) // ends at pw.Close
		_, _ = pw.Write(stream.Bytes())
		pw.Close()
		if err := k.wait(time.Minute); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1000, "ns/result")
}
