package reports_test

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trendtactics/loadlab/reports"
	"github.com/trendtactics/loadlab/result"
)

// junitVariants are the fixture and its edits whose JUnit output is checked.
var junitVariants = []struct {
	name string
	edit func(*result.Result)
}{
	{"fail", func(*result.Result) {}},
	{"pass", func(r *result.Result) {
		r.Thresholds, r.StopReason, r.Faults = r.Thresholds[:1], "", r.Faults[:1]
		for _, st := range r.Requests {
			st.CheckFailures = 0
		}
	}},
	{"invalid", func(r *result.Result) {
		r.Generator.Valid = false
		r.Generator.Reasons = []string{"sent 80 of 100 planned requests", "send lateness p99 120ms over 10ms"}
	}},
	{"interrupted", func(r *result.Result) { r.Interrupted, r.StopReason = true, "" }},
}

func writeJUnit(t *testing.T, res *result.Result) []byte {
	t.Helper()
	res.Verdict = reports.Verdict(res)
	var buf bytes.Buffer
	if err := reports.WriteJUnit(&buf, res); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestWriteJUnit(t *testing.T) {
	for _, tc := range junitVariants {
		t.Run(tc.name, func(t *testing.T) {
			res := evaluated(t)
			tc.edit(res)
			golden(t, "TestWriteJUnit."+tc.name+".xml", writeJUnit(t, res))
		})
	}
}

// junitDoc is the part of the JUnit layout the tests read back.
type junitDoc struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Errors   int    `xml:"errors,attr"`
		Cases    []struct {
			Classname string `xml:"classname,attr"`
			Name      string `xml:"name,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
			} `xml:"error"`
			SystemOut string `xml:"system-out"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestJUnitCases(t *testing.T) {
	res := evaluated(t)
	var doc junitDoc
	if err := xml.Unmarshal(writeJUnit(t, res), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Suites) != 1 || doc.Suites[0].Name != "fixture" {
		t.Fatalf("want one suite named fixture, got %+v", doc.Suites)
	}
	s := doc.Suites[0]
	// 6 thresholds + 2 requests' checks + 3 faults + generator + run completed
	if s.Tests != 13 || len(s.Cases) != 13 || doc.Tests != 13 {
		t.Errorf("tests = %d (%d cases, %d in testsuites), want 13", s.Tests, len(s.Cases), doc.Tests)
	}
	// failures: 3 thresholds and catalog's 5 failed checks; errors: the fault that was not injected
	if s.Failures != 4 || s.Errors != 1 || doc.Failures != 4 || doc.Errors != 1 {
		t.Errorf("failures %d errors %d (testsuites %d, %d), want 4 and 1", s.Failures, s.Errors, doc.Failures, doc.Errors)
	}
	byName := map[string]int{}
	for i, c := range s.Cases {
		byName[c.Classname+" / "+c.Name] = i
	}
	for name, want := range map[string]string{
		"fixture.thresholds / latency{request:enroll} p(99) < 50ms":  "latency{request:enroll}: measured 100ms, threshold p(99) < 50ms",
		"fixture.thresholds / latency{window:slow-db} p(99) < 250ms": "latency{window:slow-db}: measured 300ms, threshold p(99) < 250ms; aborted the run",
		"fixture.thresholds / latency{window:nope} p(99) < 250ms":    "latency{window:nope}: no data (threshold p(99) < 250ms): an empty selection never passes",
		"fixture.checks / catalog":                                   "catalog: 5 of 50 checks failed (5 errors)",
	} {
		i, ok := byName[name]
		if !ok {
			t.Errorf("no test case %q", name)
			continue
		}
		if f := s.Cases[i].Failure; f == nil || f.Message != want {
			t.Errorf("%s: failure %+v, want message %q", name, f, want)
		}
	}
	if i, ok := byName["fixture.faults / abort (http.abort on /v1/courses)"]; !ok || s.Cases[i].Error == nil ||
		s.Cases[i].Error.Message != "fault abort was not injected: admin API: 403" {
		t.Errorf("fault abort: want an error, got %+v", s.Cases)
	}
	for _, passing := range []string{"fixture.thresholds / latency p(99) < 100ms", "fixture.checks / enroll", "fixture.run / generator held the schedule"} {
		if i, ok := byName[passing]; !ok || s.Cases[i].Failure != nil || s.Cases[i].Error != nil {
			t.Errorf("%s: want a passing test case", passing)
		}
	}
}

func TestJUnitEscapes(t *testing.T) {
	res := evaluated(t)
	res.Scenario = `a<b & "c" ]]> d` + "\x01"
	res.Requests[0].Name = `</testcase><x y="1">`
	out := writeJUnit(t, res)
	var doc junitDoc
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got := doc.Suites[0].Name; got != "a<b & \"c\" ]]> d\uFFFD" {
		t.Errorf("suite name %q", got)
	}
	if got := doc.Suites[0].Cases[6].Name; got != `</testcase><x y="1">` {
		t.Errorf("check case name %q", got)
	}
}

// TestJUnitSchema validates the JUnit output against the JUnit XSD in testdata (see its
// comment) with xmllint, and checks that xmllint does reject a file that breaks it.
func TestJUnitSchema(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Skip("xmllint not found: install libxml2-utils (apt-get install libxml2-utils) to validate the JUnit XML against its schema")
	}
	dir := t.TempDir()
	validate := func(name string, data []byte) error {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(xmllint, "--noout", "--schema", filepath.Join("testdata", "junit.xsd"), path).CombinedOutput()
		if err != nil {
			return &xmllintError{string(out)}
		}
		return nil
	}
	for _, tc := range junitVariants {
		res := evaluated(t)
		tc.edit(res)
		if err := validate(tc.name+".xml", writeJUnit(t, res)); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	empty := &result.Result{Schema: result.Schema, Generator: result.Health{Valid: true}}
	if err := validate("empty.xml", writeJUnit(t, empty)); err != nil {
		t.Errorf("empty result: %v", err)
	}
	bad := `<?xml version="1.0"?><testsuites><testsuite name="x" failures="0" errors="0" time="1"><testcase name="a" classname="b" time="0"/></testsuite></testsuites>`
	if err := validate("bad.xml", []byte(bad)); err == nil {
		t.Error("xmllint accepted a testsuite without tests: the schema check cannot fail")
	}
}

type xmllintError struct{ out string }

func (e *xmllintError) Error() string { return "xmllint: " + strings.TrimSpace(e.out) }

// A run sized by a measured capacity has a case for the measurement: an error when the
// generator could not hold the ramp.
func TestJUnitCapacityCase(t *testing.T) {
	for _, valid := range []bool{true, false} {
		res := evaluated(t)
		res.Capacity = &result.CapacityResult{RPS: 25, Saturated: true, Objective: "p(99) < 500ms, errors < 1%",
			FromRPS: 5, ToRPS: 150, RampS: 40, StoppedS: 9, Valid: valid}
		if !valid {
			res.Capacity.Reasons = []string{"send lateness p99 40ms"}
		}
		var doc junitDoc
		if err := xml.Unmarshal(writeJUnit(t, res), &doc); err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, c := range doc.Suites[0].Cases {
			if c.Classname != "fixture.run" || c.Name != "capacity measured" {
				continue
			}
			found = true
			if !strings.Contains(c.SystemOut, "capacity 25.0/s") {
				t.Errorf("system-out %q, want the capacity line", c.SystemOut)
			}
			if (c.Error == nil) != valid {
				t.Errorf("valid %v: error %+v", valid, c.Error)
			}
		}
		if !found {
			t.Errorf("valid %v: no capacity case", valid)
		}
	}
}
