// report.js draws the charts of a loadlab HTML report with uPlot, from the data that
// reports.WriteHTML embeds as window.LOADLAB. It marks the page for tests and tools: the
// body element gets data-charts-expected (N), data-charts (the charts drawn so far) and
// data-errors (a JSON array of every error and console.error message).
(function () {
  "use strict";
  var D = window.LOADLAB || {};
  var errors = window.__loadlabErrors || [];
  var body = document.body;
  var expected = 0;
  var drawn = 0;
  var palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];

  function fmtT(s) {
    if (s == null) return "-";
    s = Math.round(s);
    var neg = s < 0 ? "-" : "";
    s = Math.abs(s);
    var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = s % 60;
    var mm = (h > 0 && m < 10 ? "0" : "") + m;
    return neg + (h > 0 ? h + ":" : "") + mm + ":" + (sec < 10 ? "0" : "") + sec;
  }

  function fmtNum(digits, unit) {
    return function (u, v) {
      return v == null ? "-" : v.toFixed(digits) + unit;
    };
  }

  // shade paints every fault's window behind the series, labelled with its name.
  function shade(u) {
    var faults = D.faults || [];
    if (!faults.length) return;
    var ctx = u.ctx, b = u.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(b.left, b.top, b.width, b.height);
    ctx.clip();
    ctx.font = Math.round(11 * (window.devicePixelRatio || 1)) + "px system-ui, sans-serif";
    ctx.textBaseline = "top";
    for (var i = 0; i < faults.length; i++) {
      var f = faults[i];
      var x0 = u.valToPos(f.start, "x", true), x1 = u.valToPos(f.end, "x", true);
      ctx.fillStyle = f.injected ? "rgba(214, 39, 40, 0.12)" : "rgba(127, 127, 127, 0.10)";
      ctx.fillRect(x0, b.top, Math.max(1, x1 - x0), b.height);
      ctx.fillStyle = "rgba(150, 20, 20, 0.9)";
      ctx.fillText(f.name, x0 + 3, b.top + 3 + (i % 3) * 14 * (window.devicePixelRatio || 1));
    }
    ctx.restore();
  }

  function chart(id, title, yLabel, series, data, extraAxes, extraScales, noShade) {
    var el = document.getElementById(id);
    if (!el) return;
    expected++;
    var first = true;
    var scales = { x: { time: false } };
    for (var k in extraScales || {}) scales[k] = extraScales[k];
    var axes = [
      {
        label: noShade ? "time since the ramp started (m:ss)" : "time since start (m:ss)",
        incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400],
        values: function (u, vals) { return vals.map(fmtT); }
      },
      { label: yLabel, size: 60 }
    ].concat(extraAxes || [{
      // an empty right axis, so that every chart's plot area (and fault shading) lines up
      side: 1, size: 60, label: " ", grid: { show: false }, ticks: { show: false }, stroke: "transparent",
      values: function (u, vals) { return vals.map(function () { return ""; }); }
    }]);
    var opts = {
      title: title,
      width: Math.max(320, el.clientWidth || 1000),
      height: 260,
      scales: scales,
      axes: axes,
      series: [{ label: "t", value: function (u, v) { return fmtT(v); } }].concat(series),
      hooks: {
        drawClear: noShade ? [] : [shade],
        draw: [function () {
          if (first) {
            first = false;
            drawn++;
            body.dataset.charts = String(drawn);
          }
        }]
      }
    };
    var u = new uPlot(opts, data, el);
    window.addEventListener("resize", function () {
      u.setSize({ width: Math.max(320, el.clientWidth || 1000), height: 260 });
    });
  }

  try {
    var t = D.t || [];
    var msv = fmtNum(2, " ms");
    chart("chart-latency", "Latency percentiles per second (from the intended send time)", "ms", [
      { label: "p50", stroke: palette[0], width: 1.5, value: msv },
      { label: "p90", stroke: palette[1], width: 1.5, value: msv },
      { label: "p99", stroke: palette[3], width: 2, value: msv }
    ], [t, D.p50 || [], D.p90 || [], D.p99 || []]);

    var rps = fmtNum(0, "/s");
    // rates draws a chart of counts per second whose series share one unit (reports.htmlRates).
    function rates(id, R, colors) {
      if (!R || !R.series) return;
      var series = [], data = [t];
      for (var i = 0; i < R.series.length; i++) {
        var s = R.series[i];
        var unit = fmtNum(0, " " + R.unit);
        series.push(s.planned ? { label: s.label, stroke: palette[7], width: 2, dash: [6, 4], value: unit }
          : { label: s.label, stroke: colors[i % colors.length], width: 1.5, value: unit });
        data.push(s.values);
      }
      chart(id, R.title, R.unit, series, data);
    }
    rates("chart-throughput", D.iterations, [palette[0], palette[0]]);
    rates("chart-requests-sent", D.answers, [palette[0], palette[2]]);

    chart("chart-errors", "Errors per second", "errors/s", [
      { label: "errors", stroke: palette[3], width: 1.5, fill: "rgba(214, 39, 40, 0.15)", value: fmtNum(0, "/s") },
      { label: "error rate", stroke: palette[4], width: 1, scale: "pct", value: fmtNum(2, " %") }
    ], [t, D.errors || [], D.errorPct || []],
      [{ scale: "pct", side: 1, label: "% of responses", grid: { show: false }, size: 60 }],
      { pct: { range: function (u, min, max) { return [0, Math.max(1, max)]; } } });

    var reqs = D.requests || [];
    if (reqs.length) {
      var series = [], data = [t];
      for (var i = 0; i < reqs.length; i++) {
        series.push({ label: reqs[i].name, stroke: palette[i % palette.length], width: 1.5, value: msv });
        data.push(reqs[i].p99);
      }
      chart("chart-requests", "p99 latency per request", "ms", series, data);
    }

    var C = D.capacity;
    if (C) {
      chart("chart-capacity", "Capacity ramp: " + C.rps.toFixed(1) + "/s found", "requests/s", [
        { label: "offered", stroke: palette[7], width: 2, dash: [6, 4], value: rps },
        { label: "good", stroke: palette[2], width: 1.5, value: rps },
        { label: "shed", stroke: palette[1], width: 1.5, value: rps },
        { label: "errors", stroke: palette[3], width: 1.5, value: rps },
        { label: C.label, stroke: palette[4], width: 1, scale: "ms", value: msv }
      ], [C.t, C.planned, C.good, C.shed, C.errors, C.p],
        [{ scale: "ms", side: 1, label: "ms", grid: { show: false }, size: 60 }], {}, true);
    }
  } catch (e) {
    errors.push("report.js: " + (e && e.stack ? e.stack : String(e)));
  }
  body.dataset.chartsExpected = String(expected);
  body.dataset.errors = JSON.stringify(errors);
  window.__loadlabFlush = function () { body.dataset.errors = JSON.stringify(errors); };
})();
