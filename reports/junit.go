package reports

import (
	"bufio"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/trendtactics/loadlab/result"
)

// The JUnit XML written by WriteJUnit is the common Jenkins/Ant format that GitHub
// Actions report actions, GitLab (artifacts:reports:junit) and Jenkins read:
//
//	testsuites > testsuite (one per scenario) > testcase > failure | error | system-out
//
// Each section of a result becomes test cases of the scenario's suite, told apart by
// their classname, <scenario>.<section>:
//
//	thresholds  one per threshold; a failure says the measured value against the threshold
//	checks      one per request name; fails when any of its checks failed
//	faults      one per fault; an error when it was not injected, the recovery time in system-out
//	run         the generator held the schedule (error when INVALID), the run completed
//	            (error when INTERRUPTED), and with capacity: the capacity measured (error
//	            when the generator could not hold its ramp)
//
// A later verification section (lost or duplicated writes, domain invariants) adds one
// test case per verification through another junitSection.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitProblem `xml:"skipped"`
	Failure   *junitProblem `xml:"failure"`
	Error     *junitProblem `xml:"error"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// junitProblem is a failure, error or skipped element: a one-line message, a type,
// and a longer text.
type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// junitSection turns one section of a result into test cases; the classname is
// the scenario's name and the section's.
type junitSection struct {
	name  string
	cases func(res *result.Result) []junitCase
}

func junitSections() []junitSection {
	return []junitSection{
		{"thresholds", thresholdCases},
		{"checks", checkCases},
		{"faults", faultCases},
		{"verification", verificationCases},
		{"run", runCases},
	}
}

// WriteJUnit writes res as JUnit XML: one test suite for the scenario, with a test case
// per threshold, per request's checks, per fault, and for the run itself (the generator
// held the schedule, the run was not interrupted). See the comment above junitSuites.
func WriteJUnit(w io.Writer, res *result.Result) error {
	scenario := res.Scenario
	if scenario == "" {
		scenario = "scenario"
	}
	suite := junitSuite{
		Name: scenario,
		Time: secondsAttr(res.DurationMS / 1000),
		Properties: []junitProperty{
			{"verdict", verdictOf(res)},
			{"seed", strconv.FormatInt(res.Seed, 10)},
			{"schema", res.Schema},
		},
	}
	if res.Path != "" {
		suite.Properties = append(suite.Properties, junitProperty{"path", res.Path})
	}
	if !res.Start.IsZero() {
		suite.Timestamp = res.Start.UTC().Format(time.RFC3339)
	}
	for _, sec := range junitSections() {
		for _, c := range sec.cases(res) {
			c.Classname = scenario + "." + sec.name
			if c.Time == "" {
				c.Time = "0"
			}
			suite.Cases = append(suite.Cases, c)
			switch {
			case c.Error != nil:
				suite.Errors++
			case c.Failure != nil:
				suite.Failures++
			case c.Skipped != nil:
				suite.Skipped++
			}
		}
	}
	suite.Tests = len(suite.Cases)
	var sum strings.Builder
	if err := WriteText(&sum, res); err != nil {
		return err
	}
	suite.SystemOut = sum.String()
	doc := junitSuites{
		Name: "loadlab", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors,
		Time: suite.Time, Suites: []junitSuite{suite},
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(xml.Header)
	enc := xml.NewEncoder(bw)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	bw.WriteByte('\n')
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

func thresholdCases(res *result.Result) []junitCase {
	var out []junitCase
	for _, t := range res.Thresholds {
		c := junitCase{Name: t.Metric + " " + t.Source}
		measured := FormatMeasured(t)
		c.SystemOut = fmt.Sprintf("measured %s (threshold %s)\n", measured, t.Source)
		if !t.Pass {
			msg := fmt.Sprintf("%s: measured %s, threshold %s", t.Metric, measured, t.Source)
			switch t.Unit {
			case UnitNoData, UnitUnsupported, "":
				msg = fmt.Sprintf("%s: %s (threshold %s): an empty selection never passes", t.Metric, FormatMeasured(t), t.Source)
			}
			if t.Aborted {
				msg += "; aborted the run"
			}
			c.Failure = &junitProblem{Message: msg, Type: "threshold", Text: msg + "\n"}
		}
		out = append(out, c)
	}
	return out
}

func checkCases(res *result.Result) []junitCase {
	var out []junitCase
	for _, st := range res.Requests {
		if st == nil {
			continue
		}
		passed := st.Checks - min(st.CheckFailures, st.Checks)
		detail := fmt.Sprintf("%d of %d checks passed, %d failed; %d responses, %s errors",
			passed, st.Checks, st.CheckFailures, st.Count, errorsCell(st))
		if st.Checks == 0 {
			detail = fmt.Sprintf("no checks; %d responses, %s errors", st.Count, errorsCell(st))
		}
		if st.Skipped > 0 {
			detail += fmt.Sprintf("; %d flow steps skipped", st.Skipped)
		}
		c := junitCase{Name: st.Name, SystemOut: detail + "\nstatuses: " + statusList(st) + "\n"}
		if st.CheckFailures > 0 {
			msg := fmt.Sprintf("%s: %d of %d checks failed (%d errors)", st.Name, st.CheckFailures, st.Checks, st.Errors)
			c.Failure = &junitProblem{Message: msg, Type: "check", Text: detail + "\n"}
		}
		out = append(out, c)
	}
	return out
}

// statusList lists the statuses of st in order: "200×45, 503×3, error×2", or "none".
func statusList(st *result.RequestStats) string {
	keys := sortedKeys(st.Statuses)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, st.Statuses[k])
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func faultCases(res *result.Result) []junitCase {
	var out []junitCase
	for _, f := range res.Faults {
		c := junitCase{
			Name: fmt.Sprintf("%s (%s on %s)", f.Name, f.Kind, f.Target),
			Time: secondsAttr(max(0, f.End-f.Start)),
		}
		window := fmt.Sprintf("active %s to %s", seconds(f.Start), seconds(f.End))
		if !f.Injected {
			msg := fmt.Sprintf("fault %s was not injected", f.Name)
			if f.Error != "" {
				msg += ": " + f.Error
			}
			c.Error = &junitProblem{Message: msg, Type: "fault", Text: msg + "\n"}
			out = append(out, c)
			continue
		}
		c.SystemOut = window + "; " + recoveryText(f) + "\n"
		out = append(out, c)
	}
	return out
}

// recoveryText says how long clients took to recover after a fault.
func recoveryText(f result.FaultResult) string {
	switch {
	case !f.Injected:
		return "not injected"
	case f.RecoveryS < 0:
		return "not recovered before the run ended"
	}
	return "recovered " + seconds(f.RecoveryS) + " after the fault ended" + restartNote(f)
}

// restartNote says, for a fault whose process was restarted, how long the restart took
// and how long clients took to recover after it; "" for other faults.
func restartNote(f result.FaultResult) string {
	if f.ReadyS <= 0 {
		return ""
	}
	rec := "not recovered after it"
	if f.RecoveryAfterRestartS >= 0 {
		rec = "recovered " + seconds(f.RecoveryAfterRestartS) + " after it"
	}
	return fmt.Sprintf(" (restarted and ready %s after the kill, %s)", seconds(f.TimeToRestartS), rec)
}

func runCases(res *result.Result) []junitCase {
	g := res.Generator
	gen := junitCase{
		Name: "generator held the schedule",
		SystemOut: fmt.Sprintf("iterations planned %d, sent %d, completed %d, dropped %d; lateness p99 %sms, generator's own p99 %sms (bound %sms); in flight max %d\n",
			g.Planned, g.Sent, g.Completed, g.Dropped, ms(g.LatenessP99MS), ms(g.GeneratorLatenessP99MS), ms(g.LatenessBound), g.MaxInFlight),
	}
	if !g.Valid {
		msg := "the generator could not hold the schedule: the run is INVALID"
		if len(g.Reasons) > 0 {
			msg += " (" + strings.Join(g.Reasons, "; ") + ")"
		}
		gen.Error = &junitProblem{Message: msg, Type: "invalid-run", Text: strings.Join(g.Reasons, "\n") + "\n"}
	}
	done := junitCase{Name: "run completed", Time: secondsAttr(res.DurationMS / 1000)}
	if res.Interrupted {
		msg := fmt.Sprintf("interrupted by a signal after %s", seconds(res.DurationMS/1000))
		done.Error = &junitProblem{Message: msg, Type: "interrupted", Text: msg + "\n"}
	} else if res.StopReason != "" {
		done.SystemOut = "stopped early: " + res.StopReason + "\n"
	}
	cases := []junitCase{gen, done}
	if c := res.Capacity; c != nil {
		// The capacity the load was sized by: an error when the ramp could not be trusted.
		cc := junitCase{Name: "capacity measured", Time: secondsAttr(c.StoppedS), SystemOut: capacityLine(res) + "\n"}
		if !c.Valid {
			msg := "the generator could not hold the capacity ramp: " + strings.Join(c.Reasons, "; ")
			cc.Error = &junitProblem{Message: msg, Type: "invalid-run", Text: msg + "\n"}
		}
		cases = append(cases, cc)
	}
	return cases
}

// secondsAttr renders seconds for a time attribute: 12.345.
func secondsAttr(s float64) string {
	if s < 0 {
		s = 0
	}
	return strconv.FormatFloat(s, 'f', 3, 64)
}

// verdictOf returns res.Verdict, or computes it when empty.
func verdictOf(res *result.Result) string {
	if res.Verdict != "" {
		return res.Verdict
	}
	return Verdict(res)
}
