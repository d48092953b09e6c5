package dashboards_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trendtactics/loadlab/dashboards"
)

// promResult is the answer of /api/v1/query.
type promResult struct {
	Status    string `json:"status"`
	Error     string `json:"error"`
	ErrorType string `json:"errorType"`
	Data      struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	} `json:"data"`
}

// query runs an instant query at t and returns the values of the result.
func query(ctx context.Context, base, expr string, t time.Time) ([]float64, error) {
	v := url.Values{"query": {expr}, "time": {strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)}}
	body, err := get(ctx, base+"/api/v1/query?"+v.Encode())
	if err != nil {
		return nil, err
	}
	var r promResult
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		return nil, fmt.Errorf("decode %s: %w", body, err)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s", r.ErrorType, r.Error)
	}
	var vals []float64
	parse := func(pair []any) error {
		if len(pair) != 2 {
			return fmt.Errorf("sample %v", pair)
		}
		s, _ := pair[1].(string)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return err
		}
		vals = append(vals, f)
		return nil
	}
	switch r.Data.ResultType {
	case "vector":
		var vec []struct {
			Value []any `json:"value"`
		}
		if err := json.Unmarshal(r.Data.Result, &vec); err != nil {
			return nil, err
		}
		for _, s := range vec {
			if err := parse(s.Value); err != nil {
				return nil, err
			}
		}
	case "scalar":
		var pair []any
		if err := json.Unmarshal(r.Data.Result, &pair); err != nil {
			return nil, err
		}
		if err := parse(pair); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("result type %s", r.Data.ResultType)
	}
	return vals, nil
}

// emptyAllowed lists the queries that may return nothing in the live run, and why; they must
// still parse and run, and their metrics are checked by TestQueriesNameExportedMetrics.
func emptyAllowed(s *stack) map[string]string {
	const faults = "no fault is active in the fault-free run: a --target URL takes no faults (the gauge's name and labels are checked against the chaos timeline's registry)"
	m := map[string]string{
		`academy.json: annotation "Faults"`:      faults,
		`load-run.json: annotation "Faults"`:     faults,
		`load-run.json: panel "Active faults" A`: faults,
		// The availability alerts fire in the live run (a tenth of it hits an aborting route)
		// and are checked; the latency alerts do not, on a fast loopback academy.
		`rule "AcademyLatencyFastBurn" of group "academy-slo-alerts"`: "an alert expression is empty unless the alert fires, and nothing makes the academy slow in this run; slo.rules.test.yml shows it firing and staying quiet",
		`rule "AcademyLatencySlowBurn" of group "academy-slo-alerts"`: "as above",
	}
	if !s.redis {
		m[`academy.json: panel "Cache errors and degraded mode" A`] = "redis-server is not installed: the in-process cache never fails"
	}
	return m
}

// TestQueriesReturnData runs every dashboard query and every rule expression in a real
// Prometheus that scraped the live academy and loadgen run every second, at two moments of
// the run (Redis up, then Redis down), and wants data back at one of them at least: a sample
// that is a number (a histogram_quantile or a ratio over no traffic is NaN, which draws
// nothing). Grafana's $__rate_interval becomes 5s and $__range 1m; the dashboards' variables
// take their "All" value.
func TestQueriesReturnData(t *testing.T) {
	t.Parallel()
	s := liveStack(t)
	if s.promURL == "" {
		t.Skip(s.promWhy)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exempt := emptyAllowed(s)
	seen := map[string]bool{}
	for _, q := range allQueries(t) {
		expr := expand(q.Expr, "5s", "1m")
		var samples, numbers int
		var err error
		for _, at := range s.moments {
			var vals []float64
			if vals, err = query(ctx, s.promURL, expr, at); err != nil {
				break
			}
			samples += len(vals)
			for _, v := range vals {
				if !math.IsNaN(v) {
					numbers++
				}
			}
		}
		if err != nil {
			t.Errorf("%s: %v\n\t%s", q.Where, err, expr)
			continue
		}
		if why, ok := exempt[q.Where]; ok {
			seen[q.Where] = true
			t.Logf("%s: %d samples (may be empty: %s)", q.Where, samples, why)
			continue
		}
		switch {
		case samples == 0:
			t.Errorf("%s: no data\n\t%s", q.Where, expr)
		case numbers == 0:
			t.Errorf("%s: only NaN (%d samples)\n\t%s", q.Where, samples, expr)
		}
	}
	for w := range exempt {
		if !seen[w] {
			t.Errorf("exemption %q matches no query: remove or fix it", w)
		}
	}
}

// TestRecordingRulesRecord checks that Prometheus loaded the shipped rules without an
// evaluation error and that every recording rule wrote its series during the live run.
func TestRecordingRulesRecord(t *testing.T) {
	t.Parallel()
	s := liveStack(t)
	if s.promURL == "" {
		t.Skip(s.promWhy)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	body, err := get(ctx, s.promURL+"/api/v1/rules")
	if err != nil {
		t.Fatal(err)
	}
	var r struct {
		Data struct {
			Groups []struct {
				Name  string `json:"name"`
				Rules []struct {
					Name      string `json:"name"`
					Health    string `json:"health"`
					LastError string `json:"lastError"`
				} `json:"rules"`
			} `json:"groups"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, g := range r.Data.Groups {
		for _, rule := range g.Rules {
			n++
			if rule.Health != "ok" {
				t.Errorf("rule %s of %s: health %q %s", rule.Name, g.Name, rule.Health, rule.LastError)
			}
		}
	}
	want := 0
	for _, g := range dashboards.Rules().Groups {
		want += len(g.Rules)
	}
	if n != want {
		t.Errorf("Prometheus loaded %d rules, want %d", n, want)
	}
	for _, name := range dashboards.Rules().Recorded() {
		vals, err := query(ctx, s.promURL, name, s.at)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(vals) == 0 {
			t.Errorf("recording rule %s wrote no series", name)
		}
		if strings.HasPrefix(name, "academy:slo_availability:") {
			for _, v := range vals {
				if !(v >= 0 && v <= 1) {
					t.Errorf("%s = %v, want a ratio in [0, 1]", name, v)
				}
			}
		}
	}
}
