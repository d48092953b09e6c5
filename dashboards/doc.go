// Package dashboards holds loadlab's observability as code: the Grafana dashboards of the
// academy and of a load run, and the Prometheus SLO recording and alerting rules, rendered to
// the JSON and YAML files committed beside this package.
//
// The dashboards are built with Grafana's own typed builders, grafana-foundation-sdk
// (github.com/grafana/grafana-foundation-sdk/go: dashboard.NewDashboardBuilder,
// timeseries.NewPanelBuilder, prometheus.NewDataqueryBuilder, ...), so their JSON follows
// Grafana's dashboard model as the SDK writes it (schema version 42). Academy and LoadRun
// return the built dashboard.Dashboard; Queries reads the PromQL back out of it for the tests.
// The rules are plain Go values (rules.go).
//
// The committed files are generated; change the Go code and regenerate them:
//
//	go generate ./dashboards
//	go run ./dashboards/cmd/gen -dir dashboards   # the same, from the module root
//
// The tests check that the committed files are what the code produces, that Prometheus's own
// promtool accepts the configuration and the rules, and that every metric a query names is
// really exported by a running academy or loadgen (see dashboards/README.md).
//
// The package exports only values and renderers: it starts nothing and registers nothing.
package dashboards

//go:generate go run ./cmd/gen -dir .
