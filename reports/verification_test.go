package reports_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
)

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
	var text, junit, md, html bytes.Buffer
	for _, w := range []struct {
		b *bytes.Buffer
		f func(*bytes.Buffer, *result.Result) error
	}{
		{&text, func(b *bytes.Buffer, r *result.Result) error { return reports.WriteText(b, r) }},
		{&junit, func(b *bytes.Buffer, r *result.Result) error { return reports.WriteJUnit(b, r) }},
		{&md, func(b *bytes.Buffer, r *result.Result) error { return reports.WriteMarkdown(b, r) }},
		{&html, func(b *bytes.Buffer, r *result.Result) error { return reports.WriteHTML(b, r) }},
	} {
		if err := w.f(w.b, res); err != nil {
			t.Fatal(err)
		}
	}
	golden(t, "TestVerificationRendered.txt", text.Bytes())
	golden(t, "TestVerificationRendered.md", md.Bytes())
	for name, out := range map[string]string{"text": text.String(), "junit": junit.String(), "md": md.String(), "html": html.String()} {
		if !strings.Contains(out, "lost 2") || !strings.Contains(out, "enrollments-durable") {
			t.Errorf("%s output does not report the lost writes:\n%s", name, out)
		}
	}
	if !strings.Contains(junit.String(), `name="enrollments-durable"`) || !strings.Contains(junit.String(), `<failure message="lost 2`) {
		t.Errorf("junit has no failing enrollments-durable case:\n%s", junit.String())
	}
	if !strings.Contains(text.String(), "verification of the data failed") {
		t.Errorf("the verdict line does not say why:\n%s", text.String())
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
