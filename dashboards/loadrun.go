package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// LoadRun returns the dashboard of a load run, fed by `loadgen run --metrics-addr`: target
// versus achieved rate, latency percentiles from the intended send time (corrected for
// coordinated omission) beside the service time, responses and errors by status, the
// generator's own lateness and in-flight count, and the active faults.
func LoadRun() (dashboard.Dashboard, error) {
	d := newDashboard("loadlab-load-run", "loadlab load run",
		"A loadgen run as it happens: the schedule it was asked to keep and what it sent, latency as users saw it (from the intended send time) and as the server served it (from the actual send), errors, the generator's own health, and the faults of the scenario (red regions).",
		"loadgen")
	d.Time("now-15m", "now").Refresh("5s")
	d.WithVariable(labelVariable("instance", "Generator", "loadgen_target_rate", "instance"))
	d.WithVariable(labelVariable("request", "Request", `loadgen_responses_total{instance=~"$instance"}`, "request"))

	inst := `instance=~"$instance"`
	sel := inst + `, request=~"$request"`

	d.WithRow(dashboard.NewRowBuilder("Schedule"))
	d.WithPanel(timeseriesPanel("Target vs achieved rate",
		"Iterations per second the schedule asks for now, and iterations sent in the last second. A gap means the generator (or its worker bound) could not keep the open-model schedule.",
		"short",
		q(fmt.Sprintf(`sum(loadgen_target_rate{%s})`, inst), "target"),
		q(fmt.Sprintf(`sum(loadgen_achieved_rate{%s})`, inst), "achieved"),
		q(fmt.Sprintf(`sum(rate(loadgen_iterations_sent_total{%s}[$__rate_interval]))`, inst), "sent (rate)"),
	).Span(12))
	d.WithPanel(timeseriesPanel("Planned but not yet sent",
		"Iterations whose intended send time has passed but that no worker has taken yet: the generator's backlog.",
		"short",
		q(fmt.Sprintf(`sum(loadgen_iterations_planned_total{%[1]s}) - sum(loadgen_iterations_sent_total{%[1]s})`, inst), "backlog"),
	).Span(12))

	d.WithRow(dashboard.NewRowBuilder("Latency"))
	d.WithPanel(withLines(timeseriesPanel("Latency percentiles (CO-corrected)",
		"Latency measured from each request's intended send time, as wrk2 does: a stalled server cannot hide behind a paused generator. The dashed line is the 100 ms p99 SLO.",
		"s",
		q(fmt.Sprintf(`histogram_quantile(0.5, sum by (le) (rate(loadgen_request_duration_seconds_bucket{%s}[$__rate_interval])))`, sel), "p50"),
		q(fmt.Sprintf(`histogram_quantile(0.9, sum by (le) (rate(loadgen_request_duration_seconds_bucket{%s}[$__rate_interval])))`, sel), "p90"),
		q(fmt.Sprintf(`histogram_quantile(0.99, sum by (le) (rate(loadgen_request_duration_seconds_bucket{%s}[$__rate_interval])))`, sel), "p99"),
		q(fmt.Sprintf(`histogram_quantile(0.999, sum by (le) (rate(loadgen_request_duration_seconds_bucket{%s}[$__rate_interval])))`, sel), "p99.9"),
	), from(LatencyThreshold, "red")).Span(12))
	d.WithPanel(withLines(timeseriesPanel("Service time percentiles",
		"Latency from the actual send time: what the server and network took. Where the CO-corrected latency is far above it, requests waited for their turn: the schedule slipped.",
		"s",
		q(fmt.Sprintf(`histogram_quantile(0.5, sum by (le) (rate(loadgen_service_time_seconds_bucket{%s}[$__rate_interval])))`, sel), "p50"),
		q(fmt.Sprintf(`histogram_quantile(0.9, sum by (le) (rate(loadgen_service_time_seconds_bucket{%s}[$__rate_interval])))`, sel), "p90"),
		q(fmt.Sprintf(`histogram_quantile(0.99, sum by (le) (rate(loadgen_service_time_seconds_bucket{%s}[$__rate_interval])))`, sel), "p99"),
	), from(LatencyThreshold, "red")).Span(12))
	d.WithPanel(withLines(timeseriesPanel("p99 latency by request (CO-corrected)",
		"99th percentile of CO-corrected latency for each request name of the workload.",
		"s",
		q(fmt.Sprintf(`histogram_quantile(0.99, sum by (request, le) (rate(loadgen_request_duration_seconds_bucket{%s}[$__rate_interval])))`, sel), "{{request}}"),
	), from(LatencyThreshold, "red")).Span(12))
	d.WithPanel(timeseriesPanel("Mean latency and service time",
		"Mean CO-corrected latency and mean service time; their difference is time spent waiting in the generator.",
		"s",
		q(fmt.Sprintf(`sum(rate(loadgen_request_duration_seconds_sum{%[1]s}[$__rate_interval])) / sum(rate(loadgen_request_duration_seconds_count{%[1]s}[$__rate_interval]))`, sel), "latency"),
		q(fmt.Sprintf(`sum(rate(loadgen_service_time_seconds_sum{%[1]s}[$__rate_interval])) / sum(rate(loadgen_service_time_seconds_count{%[1]s}[$__rate_interval]))`, sel), "service time"),
	).Span(12))

	d.WithRow(dashboard.NewRowBuilder("Responses and errors"))
	d.WithPanel(stacked(timeseriesPanel("Responses per second by status",
		"Completed requests by HTTP status, plus \"error\" (connection failures) and \"timeout\".",
		"reqps",
		q(fmt.Sprintf(`sum by (status) (rate(loadgen_responses_total{%s}[$__rate_interval]))`, sel), "{{status}}"),
	)).Span(12))
	d.WithPanel(timeseriesPanel("Error ratio and failed checks",
		"Share of responses that were not 2xx or 3xx (connection errors and timeouts included), and responses per second that failed an expectation or a capture of the scenario.",
		"short",
		q(fmt.Sprintf(`(sum(rate(loadgen_responses_total{%[1]s, status!~"[23].."}[$__rate_interval])) or vector(0)) / sum(rate(loadgen_responses_total{%[1]s}[$__rate_interval]))`, sel), "error ratio"),
		q(fmt.Sprintf(`sum by (request) (rate(loadgen_check_failures_total{%s}[$__rate_interval]))`, sel), "failed checks/s {{request}}"),
	).Span(12))

	d.WithRow(dashboard.NewRowBuilder("Generator health"))
	d.WithPanel(timeseriesPanel("Send lateness",
		"How late iterations were handed to a worker after their intended send time. A run whose lateness p99 exceeds --max-lateness is INVALID, never PASS.",
		"s",
		q(fmt.Sprintf(`histogram_quantile(0.5, sum by (le) (rate(loadgen_lateness_seconds_bucket{%s}[$__rate_interval])))`, inst), "p50"),
		q(fmt.Sprintf(`histogram_quantile(0.99, sum by (le) (rate(loadgen_lateness_seconds_bucket{%s}[$__rate_interval])))`, inst), "p99"),
	).Span(12))
	d.WithPanel(timeseriesPanel("Iterations in flight",
		"Iterations sent and not yet answered. It grows under a slow target, bounded by the worker limit.",
		"short",
		q(fmt.Sprintf(`sum(loadgen_in_flight{%s})`, inst), "in flight"),
	).Span(12))

	d.WithRow(dashboard.NewRowBuilder("Faults"))
	d.WithPanel(stateTimelinePanel("Active faults",
		"Each scenario fault, red while it is injected (loadgen_fault_active, set by the chaos timeline).",
		q(fmt.Sprintf(`max by (fault, kind, target) (loadgen_fault_active{%s})`, inst), "{{fault}}: {{kind}} on {{target}}"),
	).Span(24))
	return build(d)
}
