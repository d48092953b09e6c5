package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/statetimeline"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"
)

// Small constructors over the SDK's panel builders, so that the dashboard files read as a
// list of questions and their queries. Each returns the SDK's builder: the caller sets the
// width with Span and may chain further settings.

// Panel heights, in grid rows.
const (
	statHeight  = 4
	panelHeight = 8
)

// q is a PromQL query with a legend; the panel constructors give it its refId and data source.
func q(expr, legend string) *prometheus.DataqueryBuilder {
	b := prometheus.NewDataqueryBuilder().Expr(expr)
	if legend != "" {
		b.LegendFormat(legend)
	}
	return b
}

// targets names the queries A, B, ... and points them at the dashboard's data source.
func targets(qs []*prometheus.DataqueryBuilder) []*prometheus.DataqueryBuilder {
	for i, t := range qs {
		t.RefId(string(rune('A' + i))).Datasource(promDS())
	}
	return qs
}

// steps is a threshold configuration: from minus infinity base, then each step from its value on.
func steps(base string, more ...dashboard.Threshold) *dashboard.ThresholdsConfigBuilder {
	return dashboard.NewThresholdsConfigBuilder().
		Mode(dashboard.ThresholdsModeAbsolute).
		Steps(append([]dashboard.Threshold{{Color: base}}, more...))
}

// from is a threshold step: color from v on.
func from(v float64, color string) dashboard.Threshold {
	return dashboard.Threshold{Value: &v, Color: color}
}

// timeseriesPanel is a line chart of qs in unit, with a table legend (mean, max, last).
func timeseriesPanel(title, desc, unit string, qs ...*prometheus.DataqueryBuilder) *timeseries.PanelBuilder {
	p := timeseries.NewPanelBuilder().
		Title(title).
		Description(desc).
		Datasource(promDS()).
		Height(panelHeight).
		Unit(unit).
		DrawStyle(common.GraphDrawStyleLine).
		LineWidth(1).
		FillOpacity(10).
		ShowPoints(common.VisibilityModeNever).
		SpanNulls(common.BoolOrFloat64{Bool: new(false)}).
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeOff)).
		AxisSoftMin(0).
		LineInterpolation(common.LineInterpolationLinear).
		Thresholds(steps("green")).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeTable).
			Placement(common.LegendPlacementBottom).
			ShowLegend(true).
			Calcs([]string{"mean", "max", "lastNotNull"})).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeMulti).Sort(common.SortOrderDescending))
	for _, t := range targets(qs) {
		p.WithTarget(t.Range())
	}
	return p
}

// withLines draws the threshold steps as dashed lines over green (an SLO or alerting levels).
func withLines(p *timeseries.PanelBuilder, lines ...dashboard.Threshold) *timeseries.PanelBuilder {
	return p.
		ThresholdsStyle(common.NewGraphThresholdsStyleConfigBuilder().Mode(common.GraphThresholdsStyleModeDashed)).
		Thresholds(steps("green", lines...))
}

// stacked stacks the series (shares of a whole, such as requests by status).
func stacked(p *timeseries.PanelBuilder) *timeseries.PanelBuilder {
	return p.Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal).Group("A"))
}

// statPanel is a single big number of an instant query over the dashboard's time range.
// redBelow and redAbove colour it: green between, red outside (nil: no bound on that side).
func statPanel(title, desc, unit string, decimals float64, query *prometheus.DataqueryBuilder, redBelow, redAbove *float64) *stat.PanelBuilder {
	base, more := "green", []dashboard.Threshold{}
	if redBelow != nil {
		base, more = "red", append(more, from(*redBelow, "green"))
	}
	if redAbove != nil {
		more = append(more, from(*redAbove, "red"))
	}
	return stat.NewPanelBuilder().
		Title(title).
		Description(desc).
		Datasource(promDS()).
		Height(statHeight).
		WithTarget(targets([]*prometheus.DataqueryBuilder{query})[0].Instant()).
		Unit(unit).
		Decimals(decimals).
		Thresholds(steps(base, more...)).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdThresholds)).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"}).Fields("").Values(false)).
		ColorMode(common.BigValueColorModeBackground).
		GraphMode(common.BigValueGraphModeNone).
		JustifyMode(common.BigValueJustifyModeAuto).
		TextMode(common.BigValueTextModeAuto).
		Orientation(common.VizOrientationAuto)
}

// stateTimelinePanel shows qs as coloured bands over time: transparent at 0, red from 1.
func stateTimelinePanel(title, desc string, qs ...*prometheus.DataqueryBuilder) *statetimeline.PanelBuilder {
	p := statetimeline.NewPanelBuilder().
		Title(title).
		Description(desc).
		Datasource(promDS()).
		Height(panelHeight).
		ColorScheme(dashboard.NewFieldColorBuilder().Mode(dashboard.FieldColorModeIdThresholds)).
		Thresholds(steps("transparent", from(1, "red"))).
		FillOpacity(70).
		LineWidth(0).
		MergeValues(true).
		ShowValue(common.VisibilityModeNever).
		RowHeight(0.9).
		Legend(common.NewVizLegendOptionsBuilder().
			DisplayMode(common.LegendDisplayModeList).
			Placement(common.LegendPlacementBottom).
			ShowLegend(false)).
		Tooltip(common.NewVizTooltipOptionsBuilder().Mode(common.TooltipDisplayModeSingle).Sort(common.SortOrderNone))
	for _, t := range targets(qs) {
		p.WithTarget(t.Range())
	}
	return p
}
