package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// This file holds the subset of Grafana's dashboard JSON model (schemaVersion 39, Grafana 10
// and 11) that the dashboards use. Field names and nesting follow Grafana's own export, so a
// dashboard exported from Grafana and this rendering read the same.

// SchemaVersion is the Grafana dashboard schema version the JSON is written for.
const SchemaVersion = 39

// datasourceVar is the name of the dashboard variable that picks the Prometheus data source.
const datasourceVar = "datasource"

// Dashboard is one Grafana dashboard.
type Dashboard struct {
	UID           string       `json:"uid"`
	Title         string       `json:"title"`
	Description   string       `json:"description,omitempty"`
	Tags          []string     `json:"tags"`
	Timezone      string       `json:"timezone"`
	Editable      bool         `json:"editable"`
	GraphTooltip  int          `json:"graphTooltip"` // 1: shared crosshair
	Refresh       string       `json:"refresh"`
	SchemaVersion int          `json:"schemaVersion"`
	Version       int          `json:"version"`
	Time          TimeRange    `json:"time"`
	Templating    Templating   `json:"templating"`
	Annotations   Annotations  `json:"annotations"`
	Links         []Link       `json:"links"`
	Panels        []*Panel     `json:"panels"`
	layout        layoutCursor // where the next panel goes
}

// TimeRange is the dashboard's default time range.
type TimeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Link is a link in the dashboard's header.
type Link struct {
	Title       string   `json:"title"`
	Type        string   `json:"type"` // "dashboards" (by tag) or "link"
	Tags        []string `json:"tags"`
	AsDropdown  bool     `json:"asDropdown"`
	IncludeVars bool     `json:"includeVars"`
	KeepTime    bool     `json:"keepTime"`
}

// Templating holds the dashboard variables.
type Templating struct {
	List []Variable `json:"list"`
}

// Variable is a dashboard variable: the data source picker or a label_values query.
type Variable struct {
	Name       string      `json:"name"`
	Label      string      `json:"label,omitempty"`
	Type       string      `json:"type"` // "datasource" or "query"
	Query      any         `json:"query"`
	Datasource *Datasource `json:"datasource,omitempty"`
	Definition string      `json:"definition,omitempty"`
	Refresh    int         `json:"refresh"` // 1: on dashboard load, 2: on time range change
	Multi      bool        `json:"multi"`
	IncludeAll bool        `json:"includeAll"`
	AllValue   string      `json:"allValue,omitempty"`
	Current    Current     `json:"current"`
	Sort       int         `json:"sort"`
	Hide       int         `json:"hide"`
}

// Current is a variable's selected value.
type Current struct {
	Text  any `json:"text,omitempty"`
	Value any `json:"value,omitempty"`
}

// VariableQuery is the query of a Prometheus query variable.
type VariableQuery struct {
	Query string `json:"query"`
	RefID string `json:"refId"`
}

// Annotations holds the dashboard's annotation queries.
type Annotations struct {
	List []Annotation `json:"list"`
}

// Annotation is one annotation query. A Prometheus annotation turns every series of Expr
// into regions while its value is non-zero.
type Annotation struct {
	BuiltIn     int         `json:"builtIn,omitempty"`
	Name        string      `json:"name"`
	Type        string      `json:"type,omitempty"`
	Datasource  *Datasource `json:"datasource"`
	Enable      bool        `json:"enable"`
	Hide        bool        `json:"hide"`
	IconColor   string      `json:"iconColor"`
	Expr        string      `json:"expr,omitempty"`
	Step        string      `json:"step,omitempty"`
	TitleFormat string      `json:"titleFormat,omitempty"`
	TextFormat  string      `json:"textFormat,omitempty"`
	TagKeys     string      `json:"tagKeys,omitempty"`
}

// Datasource names a data source by type and uid (a variable reference such as
// "${datasource}" is allowed as uid).
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// promDS is the Prometheus data source chosen by the dashboard's datasource variable.
func promDS() *Datasource {
	return &Datasource{Type: "prometheus", UID: "${" + datasourceVar + "}"}
}

// Panel is a panel or a row.
type Panel struct {
	ID          int          `json:"id"`
	Type        string       `json:"type"` // row, timeseries, stat, state-timeline
	Title       string       `json:"title"`
	Description string       `json:"description,omitempty"`
	GridPos     GridPos      `json:"gridPos"`
	Datasource  *Datasource  `json:"datasource,omitempty"`
	Targets     []Target     `json:"targets,omitempty"`
	FieldConfig *FieldConfig `json:"fieldConfig,omitempty"`
	Options     any          `json:"options,omitempty"`
	Collapsed   *bool        `json:"collapsed,omitempty"` // rows only
	Panels      []*Panel     `json:"panels,omitempty"`    // rows only (collapsed rows)
}

// GridPos places a panel on the 24-column grid.
type GridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

// Target is one PromQL query of a panel.
type Target struct {
	RefID        string      `json:"refId"`
	Datasource   *Datasource `json:"datasource"`
	Expr         string      `json:"expr"`
	LegendFormat string      `json:"legendFormat,omitempty"`
	Instant      bool        `json:"instant,omitempty"`
	Range        bool        `json:"range"`
	Interval     string      `json:"interval,omitempty"`
}

// FieldConfig sets units, thresholds and display of a panel's fields.
type FieldConfig struct {
	Defaults  FieldDefaults `json:"defaults"`
	Overrides []any         `json:"overrides"`
}

// FieldDefaults are the settings of every field of a panel.
type FieldDefaults struct {
	Unit       string         `json:"unit,omitempty"`
	Decimals   *int           `json:"decimals,omitempty"`
	Min        *float64       `json:"min,omitempty"`
	Max        *float64       `json:"max,omitempty"`
	Color      map[string]any `json:"color,omitempty"`
	Thresholds *Thresholds    `json:"thresholds,omitempty"`
	Custom     map[string]any `json:"custom,omitempty"`
}

// Thresholds colour values; with the custom thresholdsStyle "line" (or "dashed") a
// time series panel draws them as horizontal lines, which is how an SLO line is drawn.
type Thresholds struct {
	Mode  string `json:"mode"` // absolute or percentage
	Steps []Step `json:"steps"`
}

// Step is one threshold: from Value (nil: from minus infinity) on, Color.
type Step struct {
	Color string   `json:"color"`
	Value *float64 `json:"value"`
}

// layoutCursor fills the 24-column grid left to right, top to bottom.
type layoutCursor struct {
	x, y, rowH int
	nextID     int
}

// place gives p the next free position of width w and height h.
func (d *Dashboard) place(p *Panel, w, h int) {
	c := &d.layout
	if c.x+w > 24 {
		c.x, c.y, c.rowH = 0, c.y+c.rowH, 0
	}
	p.GridPos = GridPos{H: h, W: w, X: c.x, Y: c.y}
	c.x += w
	c.rowH = max(c.rowH, h)
	c.nextID++
	p.ID = c.nextID
	d.Panels = append(d.Panels, p)
}

// row starts a new row of panels.
func (d *Dashboard) row(title string) {
	c := &d.layout
	if c.x > 0 {
		c.x, c.y, c.rowH = 0, c.y+c.rowH, 0
	}
	collapsed := false
	d.place(&Panel{Type: "row", Title: title, Collapsed: &collapsed}, 24, 1)
	c.x, c.y, c.rowH = 0, c.y+1, 0
}

// add places p with width w and the usual height.
func (d *Dashboard) add(w int, p *Panel) *Panel {
	h := 8
	if p.Type == "stat" {
		h = 4
	}
	if p.Datasource == nil {
		p.Datasource = promDS()
	}
	for i := range p.Targets {
		p.Targets[i].RefID = string(rune('A' + i))
		p.Targets[i].Datasource = p.Datasource
		if !p.Targets[i].Instant {
			p.Targets[i].Range = true
		}
	}
	d.place(p, w, h)
	return p
}

// newDashboard returns an empty dashboard with loadlab's common settings: the datasource
// variable, the built-in annotations and the fault annotations.
func newDashboard(uid, title, description string, tags ...string) *Dashboard {
	return &Dashboard{
		UID:           uid,
		Title:         title,
		Description:   description,
		Tags:          append([]string{"loadlab"}, tags...),
		Timezone:      "browser",
		Editable:      true,
		GraphTooltip:  1,
		Refresh:       "10s",
		SchemaVersion: SchemaVersion,
		Version:       1,
		Time:          TimeRange{From: "now-30m", To: "now"},
		Templating: Templating{List: []Variable{{
			Name:    datasourceVar,
			Label:   "Data source",
			Type:    "datasource",
			Query:   "prometheus",
			Refresh: 1,
			Current: Current{Text: "Prometheus", Value: "loadlab-prometheus"},
		}}},
		Annotations: Annotations{List: []Annotation{
			{
				BuiltIn:    1,
				Name:       "Annotations & Alerts",
				Type:       "dashboard",
				Datasource: &Datasource{Type: "grafana", UID: "-- Grafana --"},
				Enable:     true,
				Hide:       true,
				IconColor:  "rgba(0, 211, 255, 1)",
			},
			{
				Name:        "Faults",
				Datasource:  promDS(),
				Enable:      true,
				IconColor:   "red",
				Expr:        FaultAnnotationExpr,
				Step:        "1s",
				TitleFormat: "fault {{fault}}",
				TextFormat:  "{{kind}} on {{target}}",
				TagKeys:     "fault,kind,target",
			},
		}},
		Links: []Link{{Title: "loadlab", Type: "dashboards", Tags: []string{"loadlab"}, AsDropdown: true, IncludeVars: false, KeepTime: true}},
	}
}

// FaultAnnotationExpr is the annotation query that marks every active scenario fault.
const FaultAnnotationExpr = `max by (fault, kind, target) (loadgen_fault_active) > 0`

// labelVariable adds a multi-value variable over the values of label in selector.
func (d *Dashboard) labelVariable(name, label, selector, labelName string) {
	q := fmt.Sprintf("label_values(%s, %s)", selector, labelName)
	d.Templating.List = append(d.Templating.List, Variable{
		Name:       name,
		Label:      label,
		Type:       "query",
		Query:      VariableQuery{Query: q, RefID: "PrometheusVariableQueryEditor-VariableQuery"},
		Datasource: promDS(),
		Definition: q,
		Refresh:    2,
		Multi:      true,
		IncludeAll: true,
		AllValue:   ".*",
		Current:    Current{Text: []string{"All"}, Value: []string{"$__all"}},
		Sort:       1,
	})
}

// JSON renders the dashboard as Grafana reads it: indented, with a final newline.
func (d *Dashboard) JSON() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, fmt.Errorf("render dashboard %q: %w", d.UID, err)
	}
	return b.Bytes(), nil
}

// Query is one PromQL expression of a dashboard, with where it stands.
type Query struct {
	Where string // "panel \"Title\" A", "annotation \"Faults\"", "variable \"route\""
	Expr  string // PromQL, still holding Grafana variables such as $__rate_interval
}

// Queries returns every PromQL expression of the dashboard: panel targets, annotation
// queries, and the series selectors of label_values variables.
func (d *Dashboard) Queries() []Query {
	var qs []Query
	var walk func(ps []*Panel)
	walk = func(ps []*Panel) {
		for _, p := range ps {
			for _, t := range p.Targets {
				qs = append(qs, Query{Where: fmt.Sprintf("panel %q %s", p.Title, t.RefID), Expr: t.Expr})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, a := range d.Annotations.List {
		if a.Expr != "" {
			qs = append(qs, Query{Where: fmt.Sprintf("annotation %q", a.Name), Expr: a.Expr})
		}
	}
	for _, v := range d.Templating.List {
		if q, ok := v.Query.(VariableQuery); ok {
			if sel, ok := labelValuesSelector(q.Query); ok {
				qs = append(qs, Query{Where: fmt.Sprintf("variable %q", v.Name), Expr: sel})
			}
		}
	}
	return qs
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
