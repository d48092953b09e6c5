package dashboards

// Small constructors for the panels the dashboards use, so that the dashboard files read as
// a list of questions and their queries.

// q is a range query with a legend.
func q(expr, legend string) Target { return Target{Expr: expr, LegendFormat: legend} }

// timeseries is a line chart of targets in unit.
func timeseries(title, desc, unit string, targets ...Target) *Panel {
	return &Panel{
		Type:        "timeseries",
		Title:       title,
		Description: desc,
		Targets:     targets,
		FieldConfig: &FieldConfig{
			Defaults: FieldDefaults{
				Unit: unit,
				Custom: map[string]any{
					"drawStyle":         "line",
					"lineWidth":         1,
					"fillOpacity":       10,
					"showPoints":        "never",
					"spanNulls":         false,
					"thresholdsStyle":   map[string]any{"mode": "off"},
					"axisSoftMin":       0,
					"lineInterpolation": "linear",
				},
				Thresholds: &Thresholds{Mode: "absolute", Steps: []Step{{Color: "green"}}},
			},
			Overrides: []any{},
		},
		Options: map[string]any{
			"legend":  map[string]any{"displayMode": "table", "placement": "bottom", "showLegend": true, "calcs": []string{"mean", "max", "lastNotNull"}},
			"tooltip": map[string]any{"mode": "multi", "sort": "desc"},
		},
	}
}

// withLine draws a dashed red line at v (an SLO or an alerting level).
func (p *Panel) withLine(v float64) *Panel {
	d := &p.FieldConfig.Defaults
	d.Custom["thresholdsStyle"] = map[string]any{"mode": "dashed"}
	d.Thresholds.Steps = append(d.Thresholds.Steps, Step{Color: "red", Value: &v})
	return p
}

// withLines draws dashed lines at each level, coloured in turn orange, red.
func (p *Panel) withLines(vs ...float64) *Panel {
	colors := []string{"orange", "red"}
	d := &p.FieldConfig.Defaults
	d.Custom["thresholdsStyle"] = map[string]any{"mode": "dashed"}
	for i, v := range vs {
		d.Thresholds.Steps = append(d.Thresholds.Steps, Step{Color: colors[min(i, len(colors)-1)], Value: &v})
	}
	return p
}

// stacked stacks the series (shares of a whole, such as requests by status).
func (p *Panel) stacked() *Panel {
	p.FieldConfig.Defaults.Custom["stacking"] = map[string]any{"mode": "normal", "group": "A"}
	return p
}

// stat is a single big number of target over the dashboard's time range. below and above
// colour it: green between, red outside (nil: no bound on that side).
func stat(title, desc, unit string, decimals int, t Target, redBelow, redAbove *float64) *Panel {
	t.Instant = true
	steps := []Step{{Color: "green"}}
	if redBelow != nil {
		steps = []Step{{Color: "red"}, {Color: "green", Value: redBelow}}
	}
	if redAbove != nil {
		steps = append(steps, Step{Color: "red", Value: redAbove})
	}
	return &Panel{
		Type:        "stat",
		Title:       title,
		Description: desc,
		Targets:     []Target{t},
		FieldConfig: &FieldConfig{
			Defaults: FieldDefaults{
				Unit:       unit,
				Decimals:   &decimals,
				Thresholds: &Thresholds{Mode: "absolute", Steps: steps},
				Color:      map[string]any{"mode": "thresholds"},
			},
			Overrides: []any{},
		},
		Options: map[string]any{
			"reduceOptions": map[string]any{"calcs": []string{"lastNotNull"}, "fields": "", "values": false},
			"colorMode":     "background",
			"graphMode":     "none",
			"justifyMode":   "auto",
			"textMode":      "auto",
			"orientation":   "auto",
		},
	}
}

// stateTimeline shows targets as coloured bands over time (0 off, 1 on).
func stateTimeline(title, desc string, targets ...Target) *Panel {
	one := 1.0
	return &Panel{
		Type:        "state-timeline",
		Title:       title,
		Description: desc,
		Targets:     targets,
		FieldConfig: &FieldConfig{
			Defaults: FieldDefaults{
				Color:      map[string]any{"mode": "thresholds"},
				Thresholds: &Thresholds{Mode: "absolute", Steps: []Step{{Color: "transparent"}, {Color: "red", Value: &one}}},
				Custom:     map[string]any{"fillOpacity": 70, "lineWidth": 0},
			},
			Overrides: []any{},
		},
		Options: map[string]any{
			"mergeValues": true,
			"showValue":   "never",
			"rowHeight":   0.9,
			"legend":      map[string]any{"displayMode": "list", "placement": "bottom", "showLegend": false},
			"tooltip":     map[string]any{"mode": "single", "sort": "none"},
		},
	}
}

func ptr(v float64) *float64 { return &v }
