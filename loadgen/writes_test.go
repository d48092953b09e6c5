package loadgen_test

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/loadgen"
	"github.com/trendtactics/loadlab/result"
	"github.com/trendtactics/loadlab/scenarios"
)

// TestWritesRecordedWithOutcome sends writes that the server answers 201, 409, 503 and not
// at all (time-out), plus reads that are not writes: only the writes are recorded, each with
// its key, the token's subject, its path and the outcome ok, failed or unknown.
func TestWritesRecordedWithOutcome(t *testing.T) {
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet:
			w.WriteHeader(200)
		case strings.Contains(r.URL.Path, "/c1/"):
			w.WriteHeader(201)
		case strings.Contains(r.URL.Path, "/c2/"):
			w.WriteHeader(409)
		case strings.Contains(r.URL.Path, "/c3/"):
			w.WriteHeader(503)
		default:
			time.Sleep(time.Second) // beyond the request's time-out
		}
	}))
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"user-7","exp":1}`))
	token := "eyJhbGciOiJIUzI1NiJ9." + payload + ".sig"
	spec, err := scenarios.LoadBytes("w.yaml", []byte(`version: 1
name: w
target: {url: `+srv.URL+`}
workload:
  - name: read
    request: {url: /v1/courses}
  - name: enroll
    request:
      method: POST
      url: "/v1/courses/c{{ randint 1 4 }}/enrollments"
      headers: {Authorization: "Bearer `+token+`", Idempotency-Key: "{{ uuid }}"}
      timeout: 300ms
      write: enrollment
      expect: {status: [201, 409]}
load: {executor: constant-arrival-rate, rate: 200, duration: 1s}
`), "")
	if err != nil {
		t.Fatal(err)
	}
	log := &result.WriteLog{}
	res := run(t, spec, loadgen.Options{Seed: 3, Writes: log})
	ws := log.Writes()
	var enrolls uint64
	for _, r := range res.Requests {
		if r.Name == "enroll" {
			enrolls = r.Count
		}
	}
	if len(ws) == 0 || uint64(len(ws)) != enrolls {
		t.Fatalf("%d writes recorded, %d enroll requests", len(ws), enrolls)
	}
	seen := map[result.Outcome]int{}
	keys := map[string]bool{}
	for _, w := range ws {
		var want result.Outcome
		switch {
		case strings.Contains(w.Path, "/c1/"):
			want = result.OutcomeOK
		case strings.Contains(w.Path, "/c2/"):
			want = result.OutcomeFailed
		default:
			want = result.OutcomeUnknown // 503 or time-out
		}
		if w.Outcome != want || w.Kind != "enrollment" || w.Subject != "user-7" || len(w.Key) != 36 || keys[w.Key] {
			t.Fatalf("write %+v: want outcome %s, kind enrollment, subject user-7, a fresh uuid key", w, want)
		}
		keys[w.Key] = true
		seen[w.Outcome]++
	}
	if len(seen) != 3 {
		t.Errorf("outcomes %v, want ok, failed and unknown", seen)
	}
}

func TestWriteLogBound(t *testing.T) {
	l := &result.WriteLog{Max: 2}
	for range 5 {
		l.Add(result.Write{Key: "k"})
	}
	if len(l.Writes()) != 2 || l.Dropped() != 3 {
		t.Fatalf("kept %d, dropped %d; want 2 and 3", len(l.Writes()), l.Dropped())
	}
}

// TestReadBacksRecorded runs a flow that enrolls and reads the enrollment back: the write
// and the read are both recorded, the read marked Read, each with when it was sent and when
// its answer came, the read sent after the write's answer (the order the verification of
// reads-see-own-writes relies on).
func TestReadBacksRecorded(t *testing.T) {
	srv := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(201)
			return
		}
		w.WriteHeader(200)
	}))
	payload := base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"user-9","exp":1}`))
	auth := "Bearer eyJhbGciOiJIUzI1NiJ9." + payload + ".sig"
	for _, transport := range []string{"nethttp", "fast"} {
		spec, err := scenarios.LoadBytes("r.yaml", []byte(`version: 1
name: r
target: {url: `+srv.URL+`}
transport: `+transport+`
workload:
  - name: journey
    flow:
      - name: enroll
        request: {method: POST, url: /v1/courses/c1/enrollments, headers: {Authorization: "`+auth+`", Idempotency-Key: "{{ uuid }}"}, write: enrollment}
      - name: read-back
        request: {url: /v1/courses/c1/enrollment, headers: {Authorization: "`+auth+`"}, read: enrollment}
load: {executor: constant-arrival-rate, rate: 50, duration: 1s}
`), "")
		if err != nil {
			t.Fatal(err)
		}
		log := &result.WriteLog{}
		run(t, spec, loadgen.Options{Seed: 1, Writes: log})
		var writes, reads int
		var lastWriteDone time.Duration
		for _, w := range log.Writes() {
			if w.Done < w.At || w.Kind != "enrollment" || w.Subject != "user-9" {
				t.Fatalf("%s: %+v", transport, w)
			}
			if w.Read {
				reads++
				if w.Path != "/v1/courses/c1/enrollment" || w.Status != 200 || w.Key != "" {
					t.Fatalf("%s: read %+v", transport, w)
				}
				continue
			}
			writes++
			lastWriteDone = max(lastWriteDone, w.Done)
		}
		if writes == 0 || reads != writes || lastWriteDone == 0 {
			t.Fatalf("%s: %d writes, %d reads recorded; want as many of each, more than none", transport, writes, reads)
		}
	}
}
