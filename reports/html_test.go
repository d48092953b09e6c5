package reports_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
)

// withTimeline gives the fixture ten seconds of timeline, in total and per request,
// with the slow-db window (2 s to 6 s) visibly slower and failing.
func withTimeline(res *result.Result) *result.Result {
	res.Timeline = nil
	for _, st := range res.Requests {
		st.Timeline = nil
	}
	for s := 0; s < 10; s++ {
		slow := s >= 2 && s < 6
		var total result.Point
		total.T = s
		for i, st := range res.Requests {
			p := result.Point{T: s, Planned: 5, Sent: 5, Count: 5, P50: 20 + 10*float64(i), P90: 40 + 10*float64(i), P99: 50 + 10*float64(i)}
			if slow {
				p.P50, p.P90, p.P99, p.Errors = p.P50*4, p.P90*5, p.P99*6, uint64(i+1)
			}
			p.Max = p.P99 + 1
			st.Timeline = append(st.Timeline, p)
			addPoint(&total, p)
		}
		res.Timeline = append(res.Timeline, total)
	}
	res.Timeline[9].Count = 0 // a second without responses: no latency point
	return res
}

// addPoint adds a request's second to the total's: counts summed, latencies the worst
// (enough for a chart's fixture; a real total merges histograms).
func addPoint(total *result.Point, p result.Point) {
	total.Planned += p.Planned
	total.Sent += p.Sent
	total.Count += p.Count
	total.Errors += p.Errors
	total.P50, total.P90, total.P99, total.Max = max(total.P50, p.P50), max(total.P90, p.P90), max(total.P99, p.P99), max(total.Max, p.Max)
}

func writeHTML(t testing.TB, res *result.Result) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := reports.WriteHTML(&buf, res); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriteHTML(t *testing.T) {
	golden(t, "TestWriteHTML.html", writeHTML(t, withTimeline(evaluated(t))))
}

// hostile names a request and the scenario so that any unescaped use would inject markup or script.
const hostile = `</script><img src=x onerror="document.body.dataset.pwned=1">{{.}}&amp;'"`

func TestHTMLEscapes(t *testing.T) {
	res := withTimeline(evaluated(t))
	res.Scenario = hostile
	res.Requests[0].Name = hostile
	res.Faults[0].Name = hostile
	out := string(writeHTML(t, res))
	for _, bad := range []string{"<img src=x", "</script><img"} {
		if strings.Contains(out, bad) {
			t.Errorf("report contains %q unescaped", bad)
		}
	}
	if !strings.Contains(out, "&lt;/script&gt;&lt;img src=x onerror=") {
		t.Error("the hostile name is not in the report as escaped text")
	}
}

func TestHTMLSelfContained(t *testing.T) {
	out := string(writeHTML(t, withTimeline(evaluated(t))))
	for _, ref := range []string{` src="`, ` href="`, `@import`, `url(`} {
		if strings.Contains(out, ref) {
			t.Errorf("report references an external resource: %q", ref)
		}
	}
	if n := strings.Count(out, "<script>"); n != 4 {
		t.Errorf("%d inline scripts, want 4 (error collector, data, uPlot, report.js)", n)
	}
}

// chromium returns the path of a Chromium binary, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	t.Skip("no chromium found (apt-get install chromium): the HTML report is not checked in a browser")
	return ""
}

// browse opens file in headless Chromium with networking disabled (every fetch goes to
// a proxy at 127.0.0.1:9, where nothing listens) plus extra flags, and returns stdout.
func browse(t *testing.T, bin, file string, extra ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--no-first-run", "--no-default-browser-check", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
		"--user-data-dir=" + t.TempDir()}
	args = append(args, extra...)
	args = append(args, "file://"+file)
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.Bytes())
	}
	return stdout.String()
}

var bodyTag = regexp.MustCompile(`<body[^>]*>`)

// bodyData returns the data-* attributes of the dumped DOM's body.
func bodyData(t *testing.T, dom string) map[string]string {
	t.Helper()
	tag := bodyTag.FindString(dom)
	if tag == "" {
		t.Fatalf("no body in the dumped DOM:\n%.2000s", dom)
	}
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`data-([a-z-]+)="([^"]*)"`).FindAllStringSubmatch(tag, -1) {
		out[m[1]] = html.UnescapeString(m[2])
	}
	return out
}

// TestHTMLInBrowser opens the report in headless Chromium with no network and checks
// that every chart is drawn without a script error, that hostile names stay text, and
// that the check itself notices a failed fetch. It keeps a screenshot in the test's
// temporary directory, or in $LOADLAB_ARTIFACTS when set.
func TestHTMLInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a browser")
	}
	bin := chromium(t)
	dir := t.TempDir()
	res := withTimeline(evaluated(t))
	res.Requests[0].Name = hostile
	res.Capacity = &result.CapacityResult{RPS: 25, Saturated: true, Objective: "p(99) < 500ms, errors < 1%", Valid: true}
	for i := range 6 {
		res.Capacity.Seconds = append(res.Capacity.Seconds, result.CapacitySecond{T: i, Planned: uint64(5 + 5*i),
			Answers: uint64(5 + 5*i), Good: uint64(min(5+5*i, 25)), Shed: uint64(max(0, 5*i-20)), PMS: float64(80 + 10*i)})
	}
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, writeHTML(t, res), 0o644); err != nil {
		t.Fatal(err)
	}
	dom := browse(t, bin, file, "--dump-dom")
	data := bodyData(t, dom)
	if data["errors"] != "[]" {
		t.Errorf("script errors in the report: %s", data["errors"])
	}
	want, _ := strconv.Atoi(data["charts-expected"])
	if want != 6 || data["charts"] != strconv.Itoa(want) {
		t.Errorf("charts drawn %q of %q, want 6 of 6 (body %v)", data["charts"], data["charts-expected"], data)
	}
	if data["pwned"] != "" || strings.Contains(dom, "<img src=\"x\"") {
		t.Error("a hostile request name became markup")
	}

	// The check can fail: the same page with one external image reports its failed fetch.
	page, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, "broken.html")
	page = bytes.Replace(page, []byte("</body>"), []byte(`<img src="http://example.com/pixel.png"></body>`), 1)
	if err := os.WriteFile(broken, page, 0o644); err != nil {
		t.Fatal(err)
	}
	if got := bodyData(t, browse(t, bin, broken, "--dump-dom"))["errors"]; !strings.Contains(got, "failed to load img http://example.com/pixel.png") {
		t.Errorf("a failed fetch was not reported: data-errors %q", got)
	}

	shots := dir
	if a := os.Getenv("LOADLAB_ARTIFACTS"); a != "" {
		shots = a
		if err := os.MkdirAll(shots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	shot := filepath.Join(shots, "TestHTMLInBrowser.png")
	browse(t, bin, file, "--screenshot="+shot, "--window-size=1280,2000", "--hide-scrollbars")
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10_000 {
		t.Errorf("screenshot %s: %v (size %v)", shot, err, fi)
	}
	t.Logf("screenshot: %s", shot)
}

// oneHour is a one-hour result: 3600 seconds of timeline, 10 request names with their
// own timelines and histograms, 3 faults with windows.
func oneHour(tb testing.TB) *result.Result {
	tb.Helper()
	res := evaluated(&testing.T{})
	res.DurationMS = 3600_000
	res.End = res.Start.Add(time.Hour)
	res.Requests = nil
	res.Timeline = nil
	faults := []result.FaultResult{
		{Name: "slow-db", Kind: "network.delay", Target: "database", Start: 600, End: 900, Injected: true, RecoveryS: 4},
		{Name: "kill-app", Kind: "process.kill", Target: "app", Start: 1800, End: 1830, Injected: true, RecoveryS: 12},
		{Name: "cache-down", Kind: "network.down", Target: "cache", Start: 3000, End: 3300, Injected: true, RecoveryS: -1},
	}
	res.Faults = faults
	inFault := func(s int) bool {
		for _, f := range faults {
			if float64(s) >= f.Start && float64(s) < f.End {
				return true
			}
		}
		return false
	}
	total := make([]result.Point, 3600)
	for r := 0; r < 10; r++ {
		lat := make([]float64, 0, 2000)
		for i := 0; i < 2000; i++ {
			lat = append(lat, float64(5+r+i%90))
		}
		st := stats(fmt.Sprintf("request-%02d", r), lat, uint64(r), map[string]uint64{"200": 2000 - uint64(r), "503": uint64(r)}, 2000, uint64(r))
		summarize(st)
		for s := 0; s < 3600; s++ {
			p := result.Point{T: s, Planned: 100, Sent: 100, Count: 100, P50: float64(10 + r), P90: float64(20 + r), P99: float64(40 + r + s%7)}
			if inFault(s) {
				p.P99 *= 5
				p.Errors = uint64(r)
			}
			p.Max = p.P99 * 1.5
			st.Timeline = append(st.Timeline, p)
			total[s].T = s
			addPoint(&total[s], p)
		}
		res.Requests = append(res.Requests, st)
	}
	res.Timeline = total
	res.Total.Timeline = total
	return res
}

// TestOneHourHTMLSize checks the size of the report of a one-hour run (the time is
// measured by BenchmarkRenderOneHour, never asserted).
func TestOneHourHTMLSize(t *testing.T) {
	out := writeHTML(t, oneHour(t))
	if len(out) >= 5<<20 {
		t.Errorf("report of a one-hour run is %d bytes, want under 5 MB", len(out))
	}
	t.Logf("one-hour report: %d bytes", len(out))
}

// BenchmarkRenderOneHour renders a one-hour result in every format (all), and in each.
func BenchmarkRenderOneHour(b *testing.B) {
	res := oneHour(b)
	render := func(b *testing.B, formats []reports.Format) {
		var size int
		for b.Loop() {
			size = 0
			for _, f := range formats {
				var buf bytes.Buffer
				if err := f.Write(&buf, res); err != nil {
					b.Fatal(err)
				}
				size += buf.Len()
			}
		}
		b.ReportMetric(float64(size), "output-bytes")
	}
	b.Run("all", func(b *testing.B) { render(b, reports.Formats()) })
	for _, f := range reports.Formats() {
		b.Run(f.Name, func(b *testing.B) { render(b, []reports.Format{f}) })
	}
}

// reportData returns the chart data a report embeds (window.LOADLAB).
func reportData(t *testing.T, page []byte) map[string]json.RawMessage {
	t.Helper()
	m := regexp.MustCompile(`<script>window\.LOADLAB = (.*);</script>`).FindSubmatch(page)
	if m == nil {
		t.Fatal("no window.LOADLAB in the report")
	}
	var d map[string]json.RawMessage
	if err := json.Unmarshal(m[1], &d); err != nil {
		t.Fatalf("window.LOADLAB: %v", err)
	}
	return d
}

// TestHTMLThroughputLikeWithLike: a flow of two requests plans and sends 5 iterations a
// second and so 10 requests, answered 10 times. Planned iterations are plotted against sent
// iterations, sent requests against responses: never responses against planned iterations.
func TestHTMLThroughputLikeWithLike(t *testing.T) {
	res := evaluated(t)
	res.Timeline = nil
	res.Requests[0].Timeline, res.Requests[1].Timeline = nil, nil
	for s := range 3 {
		res.Timeline = append(res.Timeline, result.Point{T: s, Planned: 5, Sent: 5, Count: 10, P99: 50})
		res.Requests[0].Timeline = append(res.Requests[0].Timeline, result.Point{T: s, Planned: 5, Sent: 5, Count: 5, P99: 50})
		res.Requests[1].Timeline = append(res.Requests[1].Timeline, result.Point{T: s, Planned: 0, Sent: 5, Count: 5, P99: 50})
	}
	type chart struct {
		Unit   string `json:"unit"`
		Series []struct {
			Label  string   `json:"label"`
			Values []uint64 `json:"values"`
		} `json:"series"`
	}
	d := reportData(t, writeHTML(t, res))
	want := map[string]struct {
		unit   string
		series map[string]uint64 // label: the value of every second
	}{
		"iterations": {"iterations/s", map[string]uint64{"planned": 5, "sent": 5}},
		"answers":    {"requests/s", map[string]uint64{"sent": 10, "responses": 10}},
	}
	for key, w := range want {
		var c chart
		if err := json.Unmarshal(d[key], &c); err != nil || c.Unit != w.unit {
			t.Errorf("chart %s: unit %q (%v), want %q", key, c.Unit, err, w.unit)
			continue
		}
		got := map[string]uint64{}
		for _, s := range c.Series {
			if len(s.Values) != 3 || s.Values[0] != s.Values[1] || s.Values[1] != s.Values[2] {
				t.Errorf("chart %s series %s: %v, want 3 equal seconds", key, s.Label, s.Values)
				continue
			}
			got[s.Label] = s.Values[0]
		}
		if fmt.Sprint(got) != fmt.Sprint(w.series) {
			t.Errorf("chart %s (%s): %v, want %v", key, c.Unit, got, w.series)
		}
	}
}
