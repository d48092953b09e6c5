package reports

import (
	"fmt"
	"io"
	"strings"

	"github.com/trendtactics/loadlab/result"
)

// VerificationFailed reports whether the result carries a failed verification of the data.
func VerificationFailed(res *result.Result) bool {
	return res.Verification != nil && !res.Verification.Pass
}

// thresholdsFailed counts the failed thresholds.
func thresholdsFailed(res *result.Result) int {
	n := 0
	for _, t := range res.Thresholds {
		if !t.Pass {
			n++
		}
	}
	return n
}

// checkFigures renders a verification check's counts: "lost 0 · unexpected 0 · ...".
func checkFigures(c result.VerificationCheck) string {
	switch c.Name {
	case "enrollments-durable":
		return fmt.Sprintf("lost %d · unexpected %d · recovered %d · duplicated %d", c.Lost, c.Unexpected, c.Recovered, c.Duplicated)
	case "reads-see-own-writes":
		return fmt.Sprintf("stale %d · saw their write %d of %d judged", c.Stale, c.Present, c.Checked)
	}
	return fmt.Sprintf("violations %d of %d checked", c.Violations, c.Checked)
}

func writesLine(v *result.VerificationResult) string {
	w := v.Writes
	s := fmt.Sprintf("%d writes: %d ok, %d failed, %d unknown", w.Total, w.OK, w.Failed, w.Unknown)
	if w.Unrecorded > 0 {
		s += fmt.Sprintf(", %d not recorded", w.Unrecorded)
	}
	if w.Reads > 0 {
		s += fmt.Sprintf("; %d read-backs", w.Reads)
	}
	return s
}

func passWord(ok bool) string {
	if ok {
		return "pass"
	}
	return "FAIL"
}

// writeVerification writes the text section of the verification.
func writeVerification(w io.Writer, res *result.Result) {
	v := res.Verification
	if v == nil {
		return
	}
	fmt.Fprintf(w, "\nverification (state read from the %s %s after the load; %s)\n", v.Source, seconds(v.ReadyAfterS), writesLine(v))
	if v.Error != "" {
		fmt.Fprintf(w, "  FAIL  %s\n", v.Error)
	}
	for _, c := range v.Checks {
		fmt.Fprintf(w, "  %-4s  %-22s %s\n", passWord(c.Pass), c.Name, checkFigures(c))
		if c.Detail != "" {
			fmt.Fprintf(w, "        %s\n", c.Detail)
		}
		for _, s := range c.Samples {
			fmt.Fprintf(w, "        - %s\n", s)
		}
	}
}

// verificationCases are the JUnit test cases of the verification: one per check, plus one
// error case when the state could not be read.
func verificationCases(res *result.Result) []junitCase {
	v := res.Verification
	if v == nil {
		return nil
	}
	var out []junitCase
	if v.Error != "" {
		out = append(out, junitCase{Name: "read state", Error: &junitProblem{Message: v.Error, Type: "verification"}})
	}
	for _, c := range v.Checks {
		jc := junitCase{Name: c.Name, SystemOut: checkFigures(c) + "\n" + c.Detail}
		if !c.Pass {
			jc.Failure = &junitProblem{Message: checkFigures(c), Type: "verification",
				Text: strings.Join(append([]string{c.Detail}, c.Samples...), "\n")}
		}
		out = append(out, jc)
	}
	return out
}

// mdVerification writes the Markdown section of the verification.
func mdVerification(w io.Writer, res *result.Result) {
	v := res.Verification
	if v == nil {
		return
	}
	fmt.Fprintf(w, "\n### Verification\n\n%s; state read from the %s.\n\n", mdText(writesLine(v)), v.Source)
	if v.Error != "" {
		fmt.Fprintf(w, "❌ %s\n\n", mdText(v.Error))
	}
	if len(v.Checks) == 0 {
		return
	}
	fmt.Fprintln(w, "| | check | figures | detail |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, c := range v.Checks {
		mark := "✅"
		if !c.Pass {
			mark = "❌"
		}
		detail := c.Detail
		if len(c.Samples) > 0 {
			detail += "; e.g. " + strings.Join(c.Samples, "; ")
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", mark, mdCode(c.Name), mdText(checkFigures(c)), mdText(detail))
	}
}
