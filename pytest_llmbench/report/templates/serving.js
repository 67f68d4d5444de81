/* pytest-llmbench report, serving section: the per-point table, throughput and TTFT
   against load (one line per model/target across a scenario's points) and latency over
   time per point (bounded series prepared by report/serving_view.py). Runs after
   report.js and uses its helpers; text is only ever set with textContent. */
(function () {
  "use strict";
  var kit = window.__llmbenchKit;
  var points = kit && kit.data.serving;
  if (!points || !points.length) return;
  var el = kit.el, svg = kit.svg, tip = kit.tip, niceTicks = kit.niceTicks;
  var DASH = "\u2013";
  document.getElementById("serving").hidden = false;

  function ms(v) { return v == null ? DASH : (v >= 100 ? v.toFixed(0) : v.toFixed(1)) + " ms"; }
  function num(v, digits) { return v == null ? DASH : v.toFixed(digits); }
  function who(p) { return p.target && String(p.model).indexOf("@") < 0 ? p.model + "@" + p.target : p.model; }
  function load(p) { return p.axis === "concurrency" ? "c=" + p.x : p.x + " req/s"; }
  function swatch(p) {
    return el("i", { style: "display:inline-block;width:9px;height:9px;border-radius:2px;margin-right:6px;background:" + kit.colorOf(p.model) });
  }

  // ---------- table ----------
  var COLS = [
    ["suite", function (p) { return p.suite; }],
    ["model", function (p) { return [swatch(p), who(p)]; }],
    ["point", function (p) { return p.point; }],
    ["load", load],
    ["SLOs", function (p) {
      if (p.outcome === "passed") return el("span", { class: "ok" }, "met");
      if (p.outcome === "failed") return el("span", { class: "bad", title: p.slo_failures.join("\n") }, "missed: " + p.slo_failures.length);
      return el("span", { class: "bad" }, p.outcome || DASH);
    }],
    ["req/s", function (p) { return num(p.request_throughput, 2); }],
    ["out tok/s", function (p) { return num(p.output_throughput, 1); }],
    ["TTFT p50", function (p) { return ms(p.ttft_p50); }], ["p99", function (p) { return ms(p.ttft_p99); }],
    ["TPOT p50", function (p) { return ms(p.tpot_p50); }], ["p99", function (p) { return ms(p.tpot_p99); }],
    ["ITL p50", function (p) { return ms(p.itl_p50); }], ["p99", function (p) { return ms(p.itl_p99); }],
    ["E2E p50", function (p) { return ms(p.e2e_p50); }], ["p99", function (p) { return ms(p.e2e_p99); }],
    ["goodput", function (p) { return num(p.goodput, 2); }],
    ["errors", function (p) { return p.requests == null ? DASH : p.errors + " / " + p.requests; }],
    ["client CPU", function (p) { return p.cpu_cores == null ? DASH : p.cpu_cores.toFixed(2) + " cores"; }],
  ];

  function renderTable() {
    var table = document.getElementById("serving-table");
    var head = el("tr");
    COLS.forEach(function (c) { head.appendChild(el("th", { scope: "col" }, c[0])); });
    head.appendChild(el("th", { scope: "col" }, "note"));
    var body = el("tbody");
    points.forEach(function (p) {
      var tr = el("tr", { "data-point": p.point, "data-model": p.model, "data-outcome": p.outcome });
      COLS.forEach(function (c) { tr.appendChild(el("td", null, c[1](p))); });
      var note = p.error ? el("span", { class: "bad" }, p.error)
        : p.unreliable ? el("span", { class: "bad unreliable" }, "UNRELIABLE: " + p.unreliable)
        : p.hosts ? "pooled from " + p.hosts + " hosts" : "";
      tr.appendChild(el("td", { class: "note" }, note));
      body.appendChild(tr);
    });
    table.appendChild(el("thead", null, head));
    table.appendChild(body);
  }

  // ---------- the comparison: one row per suite x model, over its load points ----------
  function range(values, show) {  // best-worst over the points: "21.0 ms-35.0 ms", or one figure
    var known = values.filter(function (v) { return v != null; });
    if (!known.length) return DASH;
    var lo = Math.min.apply(null, known), hi = Math.max.apply(null, known);
    return lo === hi ? show(lo) : show(lo) + " \u2013 " + show(hi);
  }
  function peak(values) {
    var known = values.filter(function (v) { return v != null; });
    return known.length ? Math.max.apply(null, known) : null;
  }
  function pick(list, key) { return list.map(function (p) { return p[key]; }); }
  var SUMMARY = [
    ["points", function (g) { return String(g.length); }],
    ["SLOs met", function (g) {
      var met = g.filter(function (p) { return p.outcome === "passed"; }).length;
      return el("span", { class: met === g.length ? "ok" : "bad" }, met + " / " + g.length);
    }],
    ["peak req/s", function (g) { return num(peak(pick(g, "request_throughput")), 2); }],
    ["peak out tok/s", function (g) { return num(peak(pick(g, "output_throughput")), 1); }],
    ["peak goodput", function (g) { return num(peak(pick(g, "goodput")), 2); }],
    ["TTFT p50", function (g) { return range(pick(g, "ttft_p50"), ms); }],
    ["TTFT p99", function (g) { return range(pick(g, "ttft_p99"), ms); }],
    ["TPOT p50", function (g) { return range(pick(g, "tpot_p50"), ms); }],
    ["ITL p50", function (g) { return range(pick(g, "itl_p50"), ms); }],
    ["E2E p99", function (g) { return range(pick(g, "e2e_p99"), ms); }],
    ["errors", function (g) {
      var req = g.filter(function (p) { return p.requests != null; });
      if (!req.length) return DASH;
      return req.reduce(function (n, p) { return n + (p.errors || 0); }, 0) + " / " +
        req.reduce(function (n, p) { return n + p.requests; }, 0);
    }],
  ];
  function renderSummary() {
    var groups = [], byKey = {};
    points.forEach(function (p) {
      var key = p.suite + "\u0000" + who(p);
      if (!byKey[key]) { byKey[key] = []; groups.push({ suite: p.suite, who: who(p), model: p.model, points: byKey[key] }); }
      byKey[key].push(p);
    });
    var table = document.getElementById("serving-summary");
    var head = el("tr", null, el("th", { scope: "col" }, "suite"), el("th", { scope: "col" }, "model"));
    SUMMARY.forEach(function (c) { head.appendChild(el("th", { scope: "col" }, c[0])); });
    var body = el("tbody");
    groups.forEach(function (g) {
      var tr = el("tr", { "data-serving-suite": g.suite, "data-model": g.model },
        el("td", null, g.suite), el("td", null, [swatch(g), g.who]));
      SUMMARY.forEach(function (c) { tr.appendChild(el("td", null, c[1](g.points))); });
      body.appendChild(tr);
    });
    table.appendChild(el("thead", null, head));
    table.appendChild(body);
    table.parentNode.hidden = false;
    kit.pinColumns(table);
  }

  // ---------- an x/y chart ----------
  function xyChart(host, o) {
    var W = o.width || 720, H = o.height || 260, L = 60, R = 16, T = 12, B = 38;
    var xs = [], ys = [];
    o.series.forEach(function (s) { s.points.forEach(function (pt) { xs.push(pt[0]); ys.push(pt[1]); }); });
    if (!xs.length) { host.appendChild(el("div", { class: "chart-note" }, o.empty || "no data")); return; }
    var xmin = o.xmin != null ? o.xmin : Math.min.apply(null, xs), xmax = Math.max.apply(null, xs);
    var log = o.xlog && xmin > 0 && xmax / xmin >= 8;
    if (!log && xmin > 0 && o.xmin == null) xmin = 0;
    if (xmax <= xmin) xmax = xmin + 1;
    var ymax = Math.max.apply(null, ys.concat([0])) * 1.08 || 1;
    function x(v) {
      var f = log ? (Math.log(v) - Math.log(xmin)) / (Math.log(xmax) - Math.log(xmin)) : (v - xmin) / (xmax - xmin);
      return L + f * (W - L - R);
    }
    function y(v) { return T + (1 - v / ymax) * (H - T - B); }
    var chart = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": o.label, "data-chart": o.id });
    var axis = svg("g", { class: "axis" });
    var xticks = log ? xs.filter(function (v, i) { return xs.indexOf(v) === i; }).sort(function (a, b) { return a - b; }) : niceTicks(xmin, xmax, 6);
    xticks.forEach(function (t) {
      axis.appendChild(svg("line", { class: "grid", x1: x(t), x2: x(t), y1: T, y2: H - B }));
      axis.appendChild(svg("text", { x: x(t), y: H - B + 14, "text-anchor": "middle", text: String(t) }));
    });
    niceTicks(0, ymax, 5).forEach(function (t) {
      axis.appendChild(svg("line", { class: "grid", x1: L, x2: W - R, y1: y(t), y2: y(t) }));
      axis.appendChild(svg("text", { x: L - 6, y: y(t) + 4, "text-anchor": "end", text: String(t) }));
    });
    axis.appendChild(svg("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle", text: o.xlabel + (log ? " (log scale)" : "") }));
    axis.appendChild(svg("text", { x: 12, y: (T + H - B) / 2, "text-anchor": "middle", transform: "rotate(-90 12 " + (T + H - B) / 2 + ")", text: o.ylabel }));
    chart.appendChild(axis);
    (o.marks || []).forEach(function (t) {  // failed requests: red ticks on the x axis
      chart.appendChild(svg("line", { x1: x(t), x2: x(t), y1: H - B - 8, y2: H - B, stroke: "#c92a2a", "stroke-width": 1.5, class: "failed" }));
    });
    o.series.forEach(function (s) {
      var g = svg("g", { "data-series": s.name });
      if (s.line && s.points.length > 1) {
        g.appendChild(svg("polyline", { fill: "none", stroke: s.color, "stroke-width": 2,
          points: s.points.map(function (pt) { return x(pt[0]) + "," + y(pt[1]); }).join(" ") }));
      }
      s.points.forEach(function (pt) {
        g.appendChild(svg("circle", { cx: x(pt[0]), cy: y(pt[1]), r: s.r || 4, fill: s.color, "fill-opacity": s.opacity || 1 },
          pt[2] ? tip(pt[2]) : null));
      });
      chart.appendChild(g);
    });
    host.appendChild(chart);
    if (o.legend) {
      host.appendChild(el("div", { class: "legend" }, o.series.map(function (s) {
        return el("span", null, el("i", { style: "background:" + s.color }), s.name);
      })));
    }
  }

  // ---------- throughput and TTFT against load ----------
  var LOAD_METRICS = [
    ["request_throughput", "requests/s", function (v) { return num(v, 2) + " req/s"; }],
    ["output_throughput", "output tokens/s", function (v) { return num(v, 1) + " tok/s"; }],
    ["ttft_p50", "TTFT p50 (ms)", ms],
    ["ttft_p99", "TTFT p99 (ms)", ms],
  ];
  var scenarios = [];
  points.forEach(function (p) {
    var key = p.suite + " \u00b7 " + p.scenario + " (" + p.axis + ")";
    if (p.x != null && scenarios.indexOf(key) < 0) scenarios.push(key);
    p.scenarioKey = key;
  });

  function renderLoad() {
    var box = document.getElementById("serving-load");
    box.textContent = "";
    var key = document.getElementById("serving-scenario").value;
    var inScenario = points.filter(function (p) { return p.scenarioKey === key; });
    var models = [];
    inScenario.forEach(function (p) { if (models.indexOf(who(p)) < 0) models.push(who(p)); });
    LOAD_METRICS.forEach(function (m) {
      var fig = el("figure", { class: "chart" }, el("figcaption", null, m[1]));
      var host = el("div");
      fig.appendChild(host);
      box.appendChild(fig);
      xyChart(host, {
        id: "serving-load-" + m[0], label: m[1] + " against load", width: 520, height: 240,
        xlabel: inScenario.length ? inScenario[0].axis : "", ylabel: m[1], xlog: true,
        empty: "no figures", legend: m[0] === "request_throughput",
        series: models.map(function (name) {
          var own = inScenario.filter(function (p) { return who(p) === name && p[m[0]] != null; })
            .sort(function (a, b) { return a.x - b.x; });
          return { name: name, color: kit.colorOf(own.length ? own[0].model : name), line: true,
            points: own.map(function (p) { return [p.x, p[m[0]], name + " " + p.point + ": " + m[2](p[m[0]])]; }) };
        }),
      });
    });
  }

  // ---------- latency over time ----------
  function renderTime() {
    var host = document.getElementById("chart-serving-time");
    host.textContent = "";
    var p = points[Number(document.getElementById("serving-point").value)];
    var s = p && p.series;
    if (!s) { host.appendChild(el("div", { class: "chart-note" }, (p && (p.series_error || p.error)) || "no samples for this point")); return; }
    function series(name, values, color, r) {
      var pts = [];
      for (var i = 0; i < s.t.length; i++) {
        if (values[i] != null) pts.push([s.t[i], values[i], name + " " + ms(values[i]) + " at " + s.t[i].toFixed(2) + " s"]);
      }
      return { name: name, color: color, points: pts, r: r, opacity: 0.75 };
    }
    xyChart(host, {
      id: "serving-time", label: "latency over time of " + p.point, xmin: 0, width: 1100, height: 300,
      xlabel: "seconds since the point's start", ylabel: "ms", legend: true, marks: s.failed,
      series: [series("E2E", s.e2e, "#e8590c", 2.5), series("TTFT", s.ttft, "#3b5bdb", 2.5)],
    });
    var notes = [];
    if (s.shown < s.total) notes.push(s.shown + " of " + s.total + " requests shown: per time bin the median and the slowest");
    if (s.failed.length) notes.push(s.failed.length + " failed request" + (s.failed.length === 1 ? "" : "s") + " marked in red on the time axis");
    if (notes.length) host.appendChild(el("div", { class: "chart-note" }, notes.join("; ")));
  }

  renderSummary();
  renderTable();
  var scenarioSelect = document.getElementById("serving-scenario");
  scenarios.forEach(function (k) { scenarioSelect.appendChild(el("option", { value: k }, k)); });
  scenarioSelect.addEventListener("change", renderLoad);
  var pointSelect = document.getElementById("serving-point");
  points.forEach(function (p, i) { pointSelect.appendChild(el("option", { value: String(i) }, who(p) + " / " + p.point + " (" + p.suite + ")")); });
  pointSelect.addEventListener("change", renderTime);
  renderLoad();
  renderTime();
  document.documentElement.setAttribute("data-serving-points", String(points.length));
})();
