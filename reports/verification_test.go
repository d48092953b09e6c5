package reports_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
)

// renderAll renders res as text, JUnit, Markdown and HTML.
func renderAll(t *testing.T, res *result.Result) (text, junit, md, html string) {
	t.Helper()
	out := make([]string, 4)
	for i, f := range []func(*bytes.Buffer, *result.Result) error{
		func(b *bytes.Buffer, r *result.Result) error { return reports.WriteText(b, r) },
		func(b *bytes.Buffer, r *result.Result) error { return reports.WriteJUnit(b, r) },
		func(b *bytes.Buffer, r *result.Result) error { return reports.WriteMarkdown(b, r) },
		func(b *bytes.Buffer, r *result.Result) error { return reports.WriteHTML(b, r) },
	} {
		var b bytes.Buffer
		if err := f(&b, res); err != nil {
			t.Fatal(err)
		}
		out[i] = b.String()
	}
	return out[0], out[1], out[2], out[3]
}

// lostWrites is a verification that found two acknowledged enrollments missing.
func lostWrites() *result.VerificationResult {
	return &result.VerificationResult{
		Pass: false, Source: "database", ReadyAfterS: 0.4,
		Writes: result.WriteCounts{Total: 40, OK: 30, Failed: 8, Unknown: 2},
		Checks: []result.VerificationCheck{
			{Name: "enrollments-durable", Pass: false, Lost: 2, Recovered: 1, Checked: 40,
				Detail:  "38 pairs attempted, 29 present",
				Samples: []string{"key 0b6c (user u1 course course-1)", "key 9f1e (user u2 course course-3)"}},
			{Name: "seats-never-oversold", Pass: true, Checked: 5, Detail: "5 courses, 1 full"},
		},
	}
}

// TestVerificationRendered renders a result whose thresholds passed and whose verification
// failed in every format: the verdict is FAIL and each format names the lost writes.
func TestVerificationRendered(t *testing.T) {
	res := passing(t)
	res.Verification = lostWrites()
	res.Verdict = reports.Verdict(res)
	if res.Verdict != reports.Fail {
		t.Fatalf("verdict %s with a failed verification, want FAIL", res.Verdict)
	}
	text, junit, md, html := renderAll(t, res)
	golden(t, "TestVerificationRendered.txt", []byte(text))
	golden(t, "TestVerificationRendered.md", []byte(md))
	for name, out := range map[string]string{"text": text, "junit": junit, "md": md, "html": html} {
		if !strings.Contains(out, "lost 2") || !strings.Contains(out, "enrollments-durable") {
			t.Errorf("%s output does not report the lost writes:\n%s", name, out)
		}
	}
	if !strings.Contains(junit, `name="enrollments-durable"`) || !strings.Contains(junit, `<failure message="lost 2`) {
		t.Errorf("junit has no failing enrollments-durable case:\n%s", junit)
	}
	if !strings.Contains(text, "verification of the data failed") {
		t.Errorf("the verdict line does not say why:\n%s", text)
	}
}

// TestVerificationPassKeepsPass: a passed verification does not change a PASS.
func TestVerificationPassKeepsPass(t *testing.T) {
	res := passing(t)
	res.Verification = &result.VerificationResult{Pass: true, Source: "database",
		Checks: []result.VerificationCheck{{Name: "enrollments-durable", Pass: true}}}
	if v := reports.Verdict(res); v != reports.Pass {
		t.Fatalf("verdict %s, want PASS", v)
	}
	res.Interrupted = true
	res.Verification.Pass = false
	if v := reports.Verdict(res); v != reports.Interrupted {
		t.Fatalf("verdict %s, want INTERRUPTED before a failed verification", v)
	}
}

// passing is the evaluated fixture with every threshold marked passed.
func passing(t *testing.T) *result.Result {
	res := evaluated(t)
	for i := range res.Thresholds {
		res.Thresholds[i].Pass, res.Thresholds[i].Aborted = true, false
	}
	res.StopReason = ""
	return res
}

// TestStaleReadsRendered: stale read-backs (reads-see-own-writes) are reported like lost
// writes, in every format, and fail the verdict.
func TestStaleReadsRendered(t *testing.T) {
	res := passing(t)
	res.Verification = &result.VerificationResult{Pass: false, Source: "database",
		Writes: result.WriteCounts{Total: 10, OK: 10, Reads: 30},
		Checks: []result.VerificationCheck{{Name: "reads-see-own-writes", Pass: false, Stale: 3, Present: 27, Checked: 30,
			Detail: "30 read-backs", Samples: []string{"user u1 course course-2: read at 1.000s found nothing"}}}}
	res.Verdict = reports.Verdict(res)
	if res.Verdict != reports.Fail {
		t.Fatalf("verdict %s with stale reads, want FAIL", res.Verdict)
	}
	outs := map[string]*bytes.Buffer{}
	for name, f := range map[string]func(*bytes.Buffer, *result.Result) error{
		"text":     func(b *bytes.Buffer, r *result.Result) error { return reports.WriteText(b, r) },
		"junit":    func(b *bytes.Buffer, r *result.Result) error { return reports.WriteJUnit(b, r) },
		"markdown": func(b *bytes.Buffer, r *result.Result) error { return reports.WriteMarkdown(b, r) },
		"html":     func(b *bytes.Buffer, r *result.Result) error { return reports.WriteHTML(b, r) },
		"json":     func(b *bytes.Buffer, r *result.Result) error { return result.WriteJSON(b, r) },
	} {
		outs[name] = &bytes.Buffer{}
		if err := f(outs[name], res); err != nil {
			t.Fatal(err)
		}
	}
	for name, b := range outs {
		want := "stale 3"
		if name == "json" {
			want = `"stale": 3`
		}
		if !strings.Contains(b.String(), want) || !strings.Contains(b.String(), "reads-see-own-writes") {
			t.Errorf("%s does not report the stale reads (%q):\n%s", name, want, b.String())
		}
	}
	if !strings.Contains(outs["junit"].String(), `<failure message="stale 3`) {
		t.Errorf("junit has no failing reads-see-own-writes case:\n%s", outs["junit"].String())
	}
	if !strings.Contains(outs["text"].String(), "30 read-backs") {
		t.Errorf("the writes line does not count the read-backs:\n%s", outs["text"].String())
	}
}
