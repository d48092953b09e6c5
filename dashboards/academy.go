package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// The service-level objectives of the TrendTactics scalability guide, as the dashboards and
// the rules measure them.
const (
	// AvailabilityObjective is the share of API requests that must not fail with a 5xx.
	AvailabilityObjective = 0.9999
	// LatencyThreshold is the p99 objective of an API request, in seconds.
	LatencyThreshold = 0.1
	// LatencyObjective is the share of API requests that must be faster than LatencyThreshold
	// (p99 < 100 ms means 99 % of requests under 100 ms).
	LatencyObjective = 0.99
)

// SLORequests selects the academy's API requests that the SLOs judge: every route except the
// operations endpoints (scrapes and probes) and the live-class WebSocket handshake, which
// opens a connection rather than answering an API call.
const SLORequests = `route!~"GET /(metrics|healthz|readyz)|.*/ws"`

// latencyBucket is the histogram bucket of the latency threshold; it must be one of the
// academy's bucket bounds (httpapi's 0.1).
const latencyBucket = `le="0.1"`

// Academy returns the dashboard of the academy service: RED by route with the SLO line,
// the SLO figures, protection (503 shed, 429 rate limited), enrollments, the database pool,
// the cache and the live-class WebSockets.
func Academy() (dashboard.Dashboard, error) {
	d := newDashboard("loadlab-academy", "TrendTactics Academy",
		"The academy's requests, errors and duration by route against its SLOs (99.99 % available, p99 < 100 ms), with its database pool, cache, WebSockets and enrollments. Red regions: faults injected by a loadgen run.",
		"academy")
	d.WithVariable(labelVariable("instance", "Instance", "academy_http_requests_total", "instance"))
	d.WithVariable(labelVariable("route", "Route", `academy_http_requests_total{instance=~"$instance"}`, "route"))

	inst := `instance=~"$instance"`
	sel := inst + `, route=~"$route"`
	slo := inst + ", " + SLORequests

	d.WithRow(dashboard.NewRowBuilder("Service-level objectives"))
	d.WithPanel(statPanel("Availability",
		"Share of API requests (all routes but metrics, probes and WebSockets) without a 5xx over the selected time range. Objective 99.99 %.",
		"percentunit", 3,
		q(fmt.Sprintf(`1 - ((sum(rate(academy_http_requests_total{%[1]s, code=~"5.."}[$__range])) or vector(0)) / sum(rate(academy_http_requests_total{%[1]s}[$__range])))`, slo), ""),
		new(AvailabilityObjective), nil).Span(6))
	d.WithPanel(statPanel("Requests under 100 ms",
		"Share of API requests faster than 100 ms over the selected time range. Objective 99 % (p99 < 100 ms).",
		"percentunit", 2,
		q(fmt.Sprintf(`sum(rate(academy_http_request_duration_seconds_bucket{%[1]s, %[2]s}[$__range])) / sum(rate(academy_http_request_duration_seconds_count{%[1]s}[$__range]))`, slo, latencyBucket), ""),
		new(LatencyObjective), nil).Span(6))
	d.WithPanel(statPanel("p99 duration",
		"99th percentile of API request duration over the selected time range, interpolated within histogram buckets. Objective 100 ms.",
		"s", 3,
		q(fmt.Sprintf(`histogram_quantile(0.99, sum by (le) (rate(academy_http_request_duration_seconds_bucket{%s}[$__range])))`, slo), ""),
		nil, new(LatencyThreshold)).Span(6))
	d.WithPanel(statPanel("Requests per second",
		"Mean rate of all academy requests over the selected time range.",
		"reqps", 1,
		q(fmt.Sprintf(`sum(rate(academy_http_requests_total{%s}[$__range]))`, inst), ""),
		nil, nil).Span(6))
	d.WithPanel(withLines(timeseriesPanel("Error budget burn rate",
		"How fast each SLO spends its error budget (1 = exactly on budget over 30 days). The fast-burn page fires above 14.4 over 1 h and 5 m, the slow-burn page above 6 over 6 h and 30 m.",
		"none",
		q(fmt.Sprintf(`(sum(rate(academy_http_requests_total{%[1]s, code=~"5.."}[5m])) or vector(0)) / sum(rate(academy_http_requests_total{%[1]s}[5m])) / %[2]g`, slo, 1-AvailabilityObjective), "availability (5m)"),
		q(fmt.Sprintf(`(sum(rate(academy_http_requests_total{%[1]s, code=~"5.."}[1h])) or vector(0)) / sum(rate(academy_http_requests_total{%[1]s}[1h])) / %[2]g`, slo, 1-AvailabilityObjective), "availability (1h)"),
		q(fmt.Sprintf(`(1 - sum(rate(academy_http_request_duration_seconds_bucket{%[1]s, %[2]s}[5m])) / sum(rate(academy_http_request_duration_seconds_count{%[1]s}[5m]))) / %[3]g`, slo, latencyBucket, 1-LatencyObjective), "latency (5m)"),
		q(fmt.Sprintf(`(1 - sum(rate(academy_http_request_duration_seconds_bucket{%[1]s, %[2]s}[1h])) / sum(rate(academy_http_request_duration_seconds_count{%[1]s}[1h]))) / %[3]g`, slo, latencyBucket, 1-LatencyObjective), "latency (1h)"),
	), from(6, "orange"), from(14.4, "red")).Span(12))
	d.WithPanel(withLines(timeseriesPanel("Server errors (5xx) ratio by route",
		"Share of each route's requests answered with a 5xx, 503 shedding included.",
		"percentunit",
		q(fmt.Sprintf(`sum by (route) (rate(academy_http_requests_total{%s, code=~"5.."}[$__rate_interval])) / sum by (route) (rate(academy_http_requests_total{%s}[$__rate_interval]))`, sel, sel), "{{route}}"),
	), from(1-AvailabilityObjective, "red")).Span(12))

	d.WithRow(dashboard.NewRowBuilder("Requests, errors and duration by route"))
	d.WithPanel(timeseriesPanel("Requests per second by route",
		"Request rate of each route pattern (method and path as registered), all status codes.",
		"reqps",
		q(fmt.Sprintf(`sum by (route) (rate(academy_http_requests_total{%s}[$__rate_interval]))`, sel), "{{route}}"),
	).Span(12))
	d.WithPanel(stacked(timeseriesPanel("Errors per second by route and status",
		"Requests answered with a 4xx or 5xx, by route and status code: 429 is rate limiting, 503 is shedding or an unready dependency.",
		"reqps",
		q(fmt.Sprintf(`sum by (route, code) (rate(academy_http_requests_total{%s, code=~"[45].."}[$__rate_interval]))`, sel), "{{code}} {{route}}"),
	)).Span(12))
	d.WithPanel(withLines(timeseriesPanel("p99 duration by route",
		"99th percentile of request duration per route, from the server's histogram (buckets 0.5 ms to 10 s). The dashed line is the 100 ms SLO.",
		"s",
		q(fmt.Sprintf(`histogram_quantile(0.99, sum by (route, le) (rate(academy_http_request_duration_seconds_bucket{%s}[$__rate_interval])))`, sel), "{{route}}"),
	), from(LatencyThreshold, "red")).Span(12))
	d.WithPanel(withLines(timeseriesPanel("Duration percentiles (selected routes)",
		"p50, p90, p99 and p99.9 of request duration over the selected routes. The dashed line is the 100 ms SLO.",
		"s",
		q(fmt.Sprintf(`histogram_quantile(0.5, sum by (le) (rate(academy_http_request_duration_seconds_bucket{%s}[$__rate_interval])))`, sel), "p50"),
		q(fmt.Sprintf(`histogram_quantile(0.9, sum by (le) (rate(academy_http_request_duration_seconds_bucket{%s}[$__rate_interval])))`, sel), "p90"),
		q(fmt.Sprintf(`histogram_quantile(0.99, sum by (le) (rate(academy_http_request_duration_seconds_bucket{%s}[$__rate_interval])))`, sel), "p99"),
		q(fmt.Sprintf(`histogram_quantile(0.999, sum by (le) (rate(academy_http_request_duration_seconds_bucket{%s}[$__rate_interval])))`, sel), "p99.9"),
	), from(LatencyThreshold, "red")).Span(12))
	d.WithPanel(timeseriesPanel("Requests in flight by route",
		"Requests being served at scrape time, per route. Beyond the admission bound (default 512) requests wait up to 50 ms, then get 503.",
		"short",
		q(fmt.Sprintf(`sum by (route) (academy_http_requests_in_flight{%s})`, sel), "{{route}}"),
	).Span(12))
	d.WithPanel(timeseriesPanel("Injected HTTP faults per second",
		"Requests affected by an /admin/faults fault (delay, abort, drop-write), as a chaos scenario injects them.",
		"reqps",
		q(fmt.Sprintf(`sum by (kind) (rate(academy_faults_injected_total{%s}[$__rate_interval]))`, inst), "{{kind}}"),
	).Span(12))

	d.WithRow(dashboard.NewRowBuilder("Protection: shedding and rate limiting"))
	d.WithPanel(timeseriesPanel("Shed (503) and rate-limited (429) requests per second",
		"The academy answers 503 with Retry-After when a bounded queue's wait budget runs out: reason inflight (every request slot busy), db (no database connection within --db-queue-wait), hash (no password-hashing slot within --hash-wait). Rate limiting answers 429 with Retry-After, per client IP or per user.",
		"reqps",
		q(fmt.Sprintf(`sum by (reason) (rate(academy_shed_requests_total{%s}[$__rate_interval]))`, inst), "shed (503) {{reason}}"),
		q(fmt.Sprintf(`sum by (scope) (rate(academy_rate_limited_total{%s}[$__rate_interval]))`, inst), "rate limited (429) by {{scope}}"),
	).Span(12))
	d.WithPanel(stacked(timeseriesPanel("Enrollments per second by result",
		"Enrollment requests: created (201), existing (200), replayed (same Idempotency-Key), full (409), error, dropped (drop-write fault).",
		"reqps",
		q(fmt.Sprintf(`sum by (result) (rate(academy_enrollments_total{%s}[$__rate_interval]))`, inst), "{{result}}"),
	)).Span(12))

	d.WithRow(dashboard.NewRowBuilder("Database pool"))
	d.WithPanel(timeseriesPanel("Connections by shard",
		"pgxpool connections of each shard: in use, idle, open and the pool's maximum.",
		"short",
		q(fmt.Sprintf(`sum by (shard) (academy_db_pool_acquired_connections{%s})`, inst), "in use, shard {{shard}}"),
		q(fmt.Sprintf(`sum by (shard) (academy_db_pool_idle_connections{%s})`, inst), "idle, shard {{shard}}"),
		q(fmt.Sprintf(`sum by (shard) (academy_db_pool_total_connections{%s})`, inst), "open, shard {{shard}}"),
		q(fmt.Sprintf(`sum by (shard) (academy_db_pool_max_connections{%s})`, inst), "max, shard {{shard}}"),
	).Span(12))
	d.WithPanel(timeseriesPanel("Connection acquisitions",
		"Acquisitions per second, the share that had to wait for a free connection, and the mean wait. Waiting acquisitions mean the pool is the bottleneck.",
		"short",
		q(fmt.Sprintf(`sum by (shard) (rate(academy_db_pool_acquires_total{%s}[$__rate_interval]))`, inst), "acquires/s, shard {{shard}}"),
		q(fmt.Sprintf(`sum by (shard) (rate(academy_db_pool_empty_acquires_total{%[1]s}[$__rate_interval])) / sum by (shard) (rate(academy_db_pool_acquires_total{%[1]s}[$__rate_interval]))`, inst), "waited share, shard {{shard}}"),
		q(fmt.Sprintf(`sum by (shard) (rate(academy_db_pool_acquire_wait_seconds_total{%[1]s}[$__rate_interval])) / sum by (shard) (rate(academy_db_pool_acquires_total{%[1]s}[$__rate_interval]))`, inst), "mean wait (s), shard {{shard}}"),
	).Span(12))

	d.WithRow(dashboard.NewRowBuilder("Cache"))
	d.WithPanel(timeseriesPanel("Cache operations per second",
		"Cache operations by operation and result: get hit or miss, set and delete ok, error, or skipped while the Redis breaker is open.",
		"ops",
		q(fmt.Sprintf(`sum by (backend, op, result) (rate(academy_cache_requests_total{%s}[$__rate_interval]))`, inst), "{{op}} {{result}} ({{backend}})"),
	).Span(8))
	d.WithPanel(timeseriesPanel("Cache hit ratio",
		"Share of cache gets that hit. Course data is cached for 1 h, user data for 5 min.",
		"percentunit",
		q(fmt.Sprintf(`sum by (backend) (rate(academy_cache_requests_total{%[1]s, op="get", result="hit"}[$__rate_interval])) / sum by (backend) (rate(academy_cache_requests_total{%[1]s, op="get", result=~"hit|miss"}[$__rate_interval]))`, inst), "{{backend}}"),
	).Span(8))
	d.WithPanel(timeseriesPanel("Cache errors and degraded mode",
		"Failed cache operations per second, and 1 while the cache is failing and the academy answers from PostgreSQL only.",
		"short",
		q(fmt.Sprintf(`sum by (backend, op) (rate(academy_cache_requests_total{%s, result=~"error|skipped"}[$__rate_interval]))`, inst), "errors/s {{op}} ({{backend}})"),
		q(fmt.Sprintf(`max by (backend) (academy_cache_degraded{%s})`, inst), "degraded ({{backend}})"),
	).Span(8))

	d.WithRow(dashboard.NewRowBuilder("Live classes (WebSockets)"))
	d.WithPanel(timeseriesPanel("Open WebSocket connections",
		"Live-class clients connected.",
		"short",
		q(fmt.Sprintf(`sum(academy_ws_connections{%s})`, inst), "connections"),
	).Span(8))
	d.WithPanel(timeseriesPanel("WebSocket messages per second",
		"Messages received from clients (in) and written to them (out).",
		"short",
		q(fmt.Sprintf(`sum by (direction) (rate(academy_ws_messages_total{%s}[$__rate_interval]))`, inst), "{{direction}}"),
	).Span(8))
	d.WithPanel(timeseriesPanel("Refused handshakes and slow-client disconnects",
		"Handshakes refused per second by reason, and clients dropped because their bounded send queue overflowed.",
		"short",
		q(fmt.Sprintf(`sum by (reason) (rate(academy_ws_rejected_total{%s}[$__rate_interval]))`, inst), "refused: {{reason}}"),
		q(fmt.Sprintf(`sum(rate(academy_ws_slow_client_disconnects_total{%s}[$__rate_interval]))`, inst), "slow-client disconnects"),
	).Span(8))
	return build(d)
}
