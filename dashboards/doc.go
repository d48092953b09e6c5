// Package dashboards holds loadlab's observability as code: the Grafana dashboards of the
// academy and of a load run, and the Prometheus SLO recording and alerting rules, built from
// plain Go values and rendered to the JSON and YAML files committed beside this package.
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
