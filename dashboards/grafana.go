package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
)

// The dashboards are built with Grafana's own typed builders (grafana-foundation-sdk); this
// file holds what both dashboards share: the header, the variables, the annotations, and the
// rendering and reading of a built dashboard.

// datasourceVar is the name of the dashboard variable that picks the Prometheus data source.
const datasourceVar = "datasource"

// promDS is the Prometheus data source chosen by the dashboard's datasource variable.
func promDS() common.DataSourceRef {
	return dataSource("prometheus", "${"+datasourceVar+"}")
}

func dataSource(typ, uid string) common.DataSourceRef {
	return common.DataSourceRef{Type: &typ, Uid: &uid}
}

// FaultAnnotationExpr is the annotation query that marks every active scenario fault.
const FaultAnnotationExpr = `max by (fault, kind, target) (loadgen_fault_active) > 0`

// newDashboard returns a dashboard builder with loadlab's common settings: the datasource
// variable, the built-in annotations and the fault annotations, and the link to the other
// loadlab dashboards.
func newDashboard(uid, title, description string, tags ...string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags(append([]string{"loadlab"}, tags...)).
		Timezone(common.TimeZoneBrowser).
		Editable().
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Refresh("10s").
		Version(1).
		Time("now-30m", "now").
		WithVariable(dashboard.NewDatasourceVariableBuilder(datasourceVar).
			Label("Data source").
			Type("prometheus").
			Current(option("Prometheus", "loadlab-prometheus")).
			Hide(dashboard.VariableHideDontHide)).
		Annotation(dashboard.NewAnnotationQueryBuilder().
			BuiltIn(1).
			Name("Annotations & Alerts").
			Type("dashboard").
			Datasource(dataSource("grafana", "-- Grafana --")).
			Enable(true).
			Hide(true).
			IconColor("rgba(0, 211, 255, 1)")).
		Annotation(dashboard.NewAnnotationQueryBuilder().
			Name("Faults").
			Datasource(promDS()).
			Enable(true).
			Hide(false).
			IconColor("red").
			Expr(FaultAnnotationExpr).
			Step("1s").
			TitleFormat("fault {{fault}}").
			TextFormat("{{kind}} on {{target}}").
			TagKeys("fault,kind,target")).
		Link(dashboard.NewDashboardLinkBuilder("loadlab").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{"loadlab"}).
			AsDropdown(true).
			IncludeVars(false).
			KeepTime(true))
}

// option is a variable's selected value.
func option(text, value string) dashboard.VariableOption {
	return dashboard.VariableOption{
		Text:  dashboard.StringOrArrayOfString{String: &text},
		Value: dashboard.StringOrArrayOfString{String: &value},
	}
}

// labelVariable is a multi-value variable over the values of labelName in selector, "All"
// by default.
func labelVariable(name, label, selector, labelName string) *dashboard.QueryVariableBuilder {
	q := fmt.Sprintf("label_values(%s, %s)", selector, labelName)
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Query(dashboard.StringOrMap{Map: map[string]any{"query": q, "refId": "PrometheusVariableQueryEditor-VariableQuery"}}).
		Datasource(promDS()).
		Definition(q).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Multi(true).
		IncludeAll(true).
		AllValue(".*").
		Current(dashboard.VariableOption{
			Text:  dashboard.StringOrArrayOfString{ArrayOfString: []string{"All"}},
			Value: dashboard.StringOrArrayOfString{ArrayOfString: []string{"$__all"}},
		}).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Hide(dashboard.VariableHideDontHide)
}

// build builds the dashboard and finishes what the builders leave open:
//
//   - it numbers the panels and rows 1, 2, ... in grid order (the builders leave panel ids
//     to Grafana; fixed ids keep the committed JSON stable);
//   - it clears the placement the SDK gives every annotation and link by default,
//     "inControlsMenu", which newer Grafanas show in the dashboard controls' dropdown: the
//     Faults toggle and the loadlab link stay above the panels, where Grafana puts them
//     when no placement is set. The builders can set that field but not unset it.
func build(b *dashboard.DashboardBuilder) (dashboard.Dashboard, error) {
	d, err := b.Build()
	if err != nil {
		return dashboard.Dashboard{}, fmt.Errorf("build dashboard: %w", err)
	}
	for i := range d.Annotations.List {
		d.Annotations.List[i].Placement = nil
	}
	for i := range d.Links {
		d.Links[i].Placement = nil
	}
	var n uint32
	for _, p := range d.Panels {
		n++
		id := n
		switch {
		case p.Panel != nil:
			p.Panel.Id = &id
		case p.RowPanel != nil:
			p.RowPanel.Id = id
		}
	}
	return d, nil
}

// JSON renders the dashboard as Grafana reads it: indented, with a final newline.
func JSON(d dashboard.Dashboard) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("render dashboard %q: %w", deref(d.Uid), err)
	}
	return b.Bytes(), nil
}

// Query is one PromQL expression of a dashboard, with where it stands.
type Query struct {
	Where string // "panel \"Title\" A", "annotation \"Faults\"", "variable \"route\""
	Expr  string // PromQL, still holding Grafana variables such as $__rate_interval
}

// Queries returns every PromQL expression of the built dashboard: panel targets (of rows'
// panels too), annotation queries, and the series selectors of label_values variables. A
// target that is not a Prometheus query is an error.
func Queries(d dashboard.Dashboard) ([]Query, error) {
	var qs []Query
	panel := func(p dashboard.Panel) error {
		for _, t := range p.Targets {
			var pq prometheus.Dataquery
			switch t := t.(type) {
			case prometheus.Dataquery:
				pq = t
			case *prometheus.Dataquery:
				pq = *t
			default:
				return fmt.Errorf("panel %q: target of type %T is not a Prometheus query", deref(p.Title), t)
			}
			qs = append(qs, Query{Where: fmt.Sprintf("panel %q %s", deref(p.Title), deref(pq.RefId)), Expr: pq.Expr})
		}
		return nil
	}
	for _, p := range d.Panels {
		switch {
		case p.Panel != nil:
			if err := panel(*p.Panel); err != nil {
				return nil, err
			}
		case p.RowPanel != nil:
			for _, rp := range p.RowPanel.Panels {
				if err := panel(rp); err != nil {
					return nil, err
				}
			}
		}
	}
	for _, a := range d.Annotations.List {
		if a.Expr != nil && *a.Expr != "" {
			qs = append(qs, Query{Where: fmt.Sprintf("annotation %q", a.Name), Expr: *a.Expr})
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != dashboard.VariableTypeQuery || v.Query == nil {
			continue
		}
		q, _ := v.Query.Map["query"].(string)
		if sel, ok := labelValuesSelector(q); ok {
			qs = append(qs, Query{Where: fmt.Sprintf("variable %q", v.Name), Expr: sel})
		}
	}
	return qs, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// labelValuesSelector returns the series selector of "label_values(selector, label)".
func labelValuesSelector(q string) (string, bool) {
	const prefix = "label_values("
	if len(q) < len(prefix)+2 || q[:len(prefix)] != prefix || q[len(q)-1] != ')' {
		return "", false
	}
	inner := q[len(prefix) : len(q)-1]
	// The label is after the last comma outside braces.
	depth, cut := 0, -1
	for i, r := range inner {
		switch r {
		case '{':
			depth++
		case '}':
			depth--
		case ',':
			if depth == 0 {
				cut = i
			}
		}
	}
	if cut < 0 {
		return "", false
	}
	return inner[:cut], true
}
