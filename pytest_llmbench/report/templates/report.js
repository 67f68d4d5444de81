/* pytest-llmbench report: renders the embedded aggregates at load, and the items
   (compressed chunks) only when the Items view opens. Text from records is only
   ever set with textContent, never parsed as HTML. */
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("llmbench-data").textContent);
  var ALL = "(all suites)";
  var PAGE = 50;
  var PALETTE = ["#3b5bdb", "#e8590c", "#2f9e44", "#c2255c", "#7048e8", "#0c8599", "#f08c00",
                 "#5c940d", "#862e9c", "#495057", "#1971c2", "#d6336c"];
  var SVG_NS = "http://www.w3.org/2000/svg";
  var root = document.documentElement;

  (window.__llmbenchEarlyErrors || []).forEach(function (m) { window.__llmbenchShowError(m); });

  // ---------- small helpers ----------
  function el(tag, attrs) {
    var node = document.createElement(tag);
    setAttrs(node, attrs);
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  function svg(tag, attrs) {
    var node = document.createElementNS(SVG_NS, tag);
    setAttrs(node, attrs);
    for (var i = 2; i < arguments.length; i++) append(node, arguments[i]);
    return node;
  }
  function setAttrs(node, attrs) {
    if (!attrs) return;
    Object.keys(attrs).forEach(function (k) {
      var v = attrs[k];
      if (v == null || v === false) return;
      if (k === "text") node.textContent = v;
      else if (k === "class") node.setAttribute("class", v);
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    });
  }
  function append(node, child) {
    if (child == null || child === false) return;
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(typeof child === "object" ? child : document.createTextNode(String(child)));
  }
  function tip(text) { return svg("title", { text: text }); }
  /* A model and its prompt variant told apart everywhere: "sim:fast \u00b7 terse". */
  function who(model, variant) { return variant ? model + " \u00b7 " + variant : String(model); }
  function whoRow(r) { return who(r.model, r.variant); }
  function clipLabel(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + "\u2026" : s; }

  var fmt = {
    pct: function (v) { return v == null ? "\u2013" : (v * 100).toFixed(1) + "%"; },
    sec: function (v) {
      if (v == null) return "\u2013";
      if (v === 0) return "0";
      return v < 1 ? (v * 1000).toFixed(v < 0.01 ? 1 : 0) + " ms" : v.toFixed(2) + " s";
    },
    num: function (v) { return v == null ? "\u2013" : Number(v).toLocaleString("en-US"); },
    tps: function (v) { return v == null ? "\u2013" : v.toFixed(1); },
    usd: function (v) {
      if (v == null) return "unknown";
      if (v === 0) return "$0";
      if (v >= 100) return "$" + v.toFixed(0);
      if (v >= 1) return "$" + v.toFixed(2);
      return "$" + (v >= 1e-4 ? String(Number(v.toPrecision(3))) : v.toExponential(2));
    },
    usdTick: function (v) {
      if (v >= 0.01 || v === 0) return fmt.usd(v);
      var exp = Math.round(Math.log10(v));
      return Math.abs(v - Math.pow(10, exp)) < v * 1e-9 ? "$1e" + exp : "$" + v.toExponential(1);
    },
    perDollar: function (v) {
      if (v == null) return "unknown";
      if (v === Infinity) return "free";
      return (v >= 100 ? Math.round(v).toLocaleString("en-US") : v.toPrecision(3)) + " / $";
    },
  };
  function valueCell(text, unknown) { return el("td", { class: unknown ? "unknown" : null }, text); }

  // ---------- models and colours ----------
  var modelNames = [];
  data.model_rows.forEach(function (r) { if (modelNames.indexOf(r.model) < 0) modelNames.push(r.model); });
  data.rows.forEach(function (r) { if (modelNames.indexOf(r.model) < 0) modelNames.push(r.model); });
  function colorOf(model) {
    var i = modelNames.indexOf(model);
    return PALETTE[(i < 0 ? 0 : i) % PALETTE.length];
  }
  var variants = [];  // prompt variants of the run, in summary order
  data.rows.forEach(function (r) { if (r.variant && variants.indexOf(r.variant) < 0) variants.push(r.variant); });
  var servingSuites = {};
  (data.serving || []).forEach(function (p) { servingSuites[p.suite] = true; });
  // serving suites have their own comparison (serving.js): no rows of dashes here
  var qualityRows = data.rows.filter(function (r) { return !servingSuites[r.suite]; });
  var suiteNames = [];
  qualityRows.forEach(function (r) { if (suiteNames.indexOf(r.suite) < 0) suiteNames.push(r.suite); });

  // ---------- comparison table ----------
  function itemsLink(params, text) {
    return el("a", { href: "#items?" + new URLSearchParams(params).toString() }, text);
  }
  var COLUMNS = [
    { key: "suite", label: "suite", text: true },
    { key: "model", label: "model", text: true },
    { key: "n", label: "n", show: fmt.num },
    { key: "accuracy", label: "accuracy [95% CI]", cell: function (r) {
      if (r.accuracy == null) return valueCell("\u2013", true);
      return el("td", null, fmt.pct(r.accuracy), " ",
        el("span", { class: "ci" }, "[" + fmt.pct(r.accuracy_ci_low) + ", " + fmt.pct(r.accuracy_ci_high) + "]"));
    } },
    { key: "cost_usd", label: "cost", show: fmt.usd, unknownIfNull: true },
    { key: "cost_per_correct", label: "cost / correct", show: fmt.usd, unknownIfNull: true },
    { key: "passed", label: "passed", show: fmt.num },
    { key: "failed", label: "failed", show: fmt.num },
    { key: "errors", label: "errors", show: fmt.num },
    { key: "error_rate", label: "error rate", cell: function (r) {
      return el("td", { class: r.error_rate ? "bad" : null }, fmt.pct(r.error_rate));
    } },
    { key: "extraction_failure_rate", label: "extraction failures", show: fmt.pct },
    { key: "latency_p50", label: "latency p50", show: fmt.sec },
    { key: "latency_p95", label: "p95", show: fmt.sec },
    { key: "latency_p99", label: "p99", show: fmt.sec },
    { key: "ttft_p50", label: "TTFT p50", show: fmt.sec },
    { key: "ttft_p95", label: "TTFT p95", show: fmt.sec },
    { key: "output_tps", label: "tokens/s", show: fmt.tps },
    { key: "input_tokens", label: "input tokens", show: fmt.num },
    { key: "output_tokens", label: "output tokens", show: fmt.num },
    { key: null, label: "items", cell: function (r) {
      var problems = r.failed + r.errors;
      var which = { model: r.model, suite: r.suite };
      if (r.variant) which.variant = r.variant;
      return el("td", null, itemsLink(which, "all"),
        problems ? [" \u00b7 ", itemsLink(Object.assign({ filter: "problems" }, which),
                                         problems + " not passed")] : null);
    } },
  ];
  var BATCH_UNTIMED = { latency_p50: 1, latency_p95: 1, latency_p99: 1, ttft_p50: 1,
                       ttft_p95: 1, output_tps: 1 };
  if (qualityRows.some(function (r) { return r.target; })) {  // targets ran: who, which commit, how fast
    var ratio = function (v) { return v == null ? "\u2013" : v.toFixed(2) + "\u00d7"; };
    COLUMNS.splice(2, 0, { key: "target", label: "target", text: true },
                   { key: "commit", label: "commit", text: true });
    var tps = COLUMNS.findIndex(function (c) { return c.key === "output_tps"; }) + 1;
    COLUMNS.splice(tps, 0, { key: "speedup", label: "speedup", show: ratio },
                   { key: "tps_ratio", label: "tok/s ratio", show: ratio });
  }
  var tableSort = { key: null, dir: 1 };

  function compareBy(key, dir) {
    return function (a, b) {
      var x = a[key], y = b[key];
      if (x == null && y == null) return 0;
      if (x == null) return 1;  // unknowns last in either direction
      if (y == null) return -1;
      if (typeof x === "string") return dir * x.localeCompare(y);
      return dir * (x - y);
    };
  }

  function renderTable() {
    var table = document.getElementById("summary-table");
    table.textContent = "";
    table.parentNode.hidden = !qualityRows.length && !!(data.serving || []).length;
    var head = el("tr");
    COLUMNS.forEach(function (c) {
      var th = el("th", { "data-key": c.key, scope: "col" }, c.label);
      if (c.key && tableSort.key === c.key) th.setAttribute("aria-sort", tableSort.dir > 0 ? "ascending" : "descending");
      if (c.key) th.addEventListener("click", function () {
        tableSort.dir = tableSort.key === c.key ? -tableSort.dir : (c.text ? 1 : -1);
        tableSort.key = c.key;
        history.replaceState(null, "", "#overview?sort=" + (tableSort.dir < 0 ? "-" : "") + c.key);
        renderTable();
      });
      head.appendChild(th);
    });
    var rows = qualityRows.slice();
    if (tableSort.key) rows.sort(compareBy(tableSort.key, tableSort.dir));
    var body = el("tbody");
    rows.forEach(function (r) {
      var tr = el("tr", { "data-suite": r.suite, "data-model": r.model, "data-variant": r.variant || null });
      COLUMNS.forEach(function (c) {
        if (c.cell) tr.appendChild(c.cell(r));
        else if (c.text) tr.appendChild(el("td", { title: c.key === "model" ? whoRow(r) : r[c.key] }, c.key === "model" ? [swatch(r.model), r.model, variantLabel(r)] : (r[c.key] == null ? "" : String(r[c.key]))));
        else if (r.batch_items && BATCH_UNTIMED[c.key]) {  // answered by provider batches
          tr.appendChild(el("td", { class: "unknown", title: "not measured: " + r.batch_items +
            " items answered by provider batches" }, "batch"));
        }
        else tr.appendChild(valueCell(c.show(r[c.key]), c.unknownIfNull && r[c.key] == null));
      });
      body.appendChild(tr);
    });
    if (!rows.length) body.appendChild(el("tr", null, el("td", { colspan: COLUMNS.length }, "no results")));
    table.appendChild(el("thead", null, head));
    table.appendChild(body);
    pinColumns(table);
  }
  /* Sticky suite and model columns: the model column sticks where the suite column ends. */
  function pinColumns(table) {
    var first = table.querySelector("tr > :first-child");
    if (first && first.offsetWidth) table.style.setProperty("--pin-left", first.offsetWidth + "px");
  }
  function pinAll() { Array.prototype.forEach.call(document.querySelectorAll("table.pinned"), pinColumns); }
  function variantLabel(r) {  // a suite's prompt variant; the best of its model starred
    return r.variant ? el("span", { class: "variant", title: r.best_variant ? "best variant of this model" : null },
                          " \u00b7 " + r.variant + (r.best_variant ? " \u2605" : "")) : "";
  }
  function swatch(model) {
    return el("i", { style: "display:inline-block;width:9px;height:9px;border-radius:2px;margin-right:6px;background:" + colorOf(model) });
  }

  // ---------- rankings ----------
  function costPer1k(r) {  // per 1,000 items: readable where one item costs a fraction of a cent
    if (r.cost_usd == null) return null;
    return 1000 * r.cost_usd / Math.max(1, r.n - r.skipped);
  }
  function correctPerDollar(r) {
    if (r.cost_usd == null || r.accuracy == null) return null;
    var correct = r.accuracy * (r.passed + r.failed);
    if (r.cost_usd === 0) return correct > 0 ? Infinity : null;
    return correct / r.cost_usd;
  }
  var RANKINGS = [
    { id: "accuracy", title: "Most accurate", sub: "accuracy", value: function (r) { return r.accuracy; }, high: true,
      show: function (v, r) {
        if (r.accuracy_ci_low == null || r.accuracy_ci_high == null) return fmt.pct(v);
        return fmt.pct(v) + " \u00b1" + ((r.accuracy_ci_high - r.accuracy_ci_low) * 50).toFixed(1);
      } },
    { id: "speed", title: "Fastest", sub: "p50 latency", value: function (r) { return r.latency_p50; }, high: false, show: fmt.sec },
    { id: "cost", title: "Cheapest", sub: "cost per 1,000 items", value: costPer1k, high: false, show: fmt.usd },
    { id: "value", title: "Best accuracy per dollar", sub: "correct answers per $", value: correctPerDollar, high: true, show: fmt.perDollar },
  ];

  function renderRankings() {
    var scope = document.getElementById("rank-scope").value;
    var rows = scope === ALL ? data.model_rows : qualityRows.filter(function (r) { return r.suite === scope; });
    var box = document.getElementById("rankings");
    box.textContent = "";
    RANKINGS.forEach(function (spec) {
      var known = [], unknown = [];
      rows.forEach(function (r) {
        var v = spec.value(r);
        (v == null || Number.isNaN(v) ? unknown : known).push({ row: r, value: v });
      });
      known.sort(function (a, b) { return spec.high ? b.value - a.value : a.value - b.value; });
      var list = el("ol");
      known.slice(0, 8).forEach(function (k, i) {
        list.appendChild(el("li", { "data-model": k.row.model }, el("span", { class: "rank" }, i + 1),
          el("span", { class: "name", title: whoRow(k.row) }, swatch(k.row.model), whoRow(k.row)),
          el("span", null, spec.show(k.value, k.row))));
      });
      unknown.slice(0, Math.max(0, 8 - Math.min(8, known.length))).forEach(function (k) {
        list.appendChild(el("li", { class: "unranked", "data-model": k.row.model }, el("span", { class: "rank" }, "\u2013"),
          el("span", { class: "name", title: whoRow(k.row) }, whoRow(k.row)), el("span", { class: "unknown" }, "unknown")));
      });
      var hidden = Math.max(0, known.length - 8) + Math.max(0, unknown.length - Math.max(0, 8 - Math.min(8, known.length)));
      box.appendChild(el("div", { class: "card", "data-ranking": spec.id },
        el("h3", null, spec.title, " ", el("small", null, spec.sub)), list,
        hidden ? el("div", { class: "more" }, "\u2026 and " + hidden + " more") : null,
        !rows.length ? el("div", { class: "more" }, "no results") : null));
    });
  }

  function setupRankings() {
    var select = document.getElementById("rank-scope");
    if (suiteNames.length > 1) select.appendChild(el("option", { value: ALL }, "all suites (pooled)"));
    suiteNames.forEach(function (s) { select.appendChild(el("option", { value: s }, s)); });
    if (!suiteNames.length) select.appendChild(el("option", { value: ALL }, "all suites"));
    select.addEventListener("change", function () { renderRankings(); costChart(); });
    renderRankings();
  }

  // ---------- charts (hand-written SVG) ----------
  var W = 720, LABEL_W = 190, VALUE_W = 78, ROW_H = 20, AXIS_H = 22;
  /* Drawn at the panel's own width on a narrow screen (down to 400), so text stays readable. */
  function chartWidth(host) {
    var w = host.clientWidth;
    return w > 0 && w < W ? Math.max(400, Math.round(w)) : W;
  }

  function niceTicks(lo, hi, count) {
    if (!(hi > lo)) return [lo];
    var raw = (hi - lo) / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 5, 10].map(function (m) { return m * mag; }).find(function (s) { return s >= raw; });
    var ticks = [];
    for (var t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)));
    return ticks;
  }

  /* One row per (suite, model), grouped under a suite heading when there are several suites. */
  function rowChart(target, rows, opts) {
    var host = document.getElementById(target);
    host.textContent = "";
    if (!rows.length) { dropPanel(target, opts.empty); return; }
    var grouped = suiteNames.length > 1;
    var lines = [];
    suiteNames.forEach(function (s) {
      var inSuite = rows.filter(function (r) { return r.suite === s; });
      if (!inSuite.length) return;
      if (grouped) lines.push({ group: s });
      inSuite.forEach(function (r) { lines.push({ row: r }); });
    });
    var height = AXIS_H + lines.length * ROW_H + 6;
    var W = chartWidth(host), labelW = Math.min(LABEL_W, Math.round(W * 0.34));
    var x0 = labelW, x1 = W - VALUE_W;
    var lo = opts.domain[0], hi = opts.domain[1] > lo ? opts.domain[1] : lo + 1;
    function x(v) { return x0 + (Math.max(lo, Math.min(hi, v)) - lo) / (hi - lo) * (x1 - x0); }
    var chart = svg("svg", { viewBox: "0 0 " + W + " " + height, role: "img", "aria-label": opts.label, "data-chart": target });
    var axis = svg("g", { class: "axis" });
    niceTicks(lo, hi, 5).forEach(function (t) {
      axis.appendChild(svg("line", { class: "grid", x1: x(t), x2: x(t), y1: AXIS_H - 4, y2: height - 4 }));
      axis.appendChild(svg("text", { x: x(t), y: AXIS_H - 8, "text-anchor": "middle", text: opts.tick(t) }));
    });
    chart.appendChild(axis);
    lines.forEach(function (line, i) {
      var y = AXIS_H + i * ROW_H + ROW_H / 2;
      if (line.group) {
        chart.appendChild(svg("text", { class: "group", x: 4, y: y + 4, text: clipLabel(line.group, 40) }));
        return;
      }
      var r = line.row, g = svg("g", { "data-model": r.model, "data-suite": r.suite, "data-variant": r.variant || null });
      g.appendChild(svg("text", { class: "row-label", x: grouped ? 14 : 4, y: y + 4, text: clipLabel(whoRow(r), Math.floor((labelW - 16) / 6)) },
                        tip(whoRow(r) + " \u00b7 " + r.suite)));
      opts.draw(g, r, y, x, colorOf(r.model));
      g.appendChild(svg("text", { x: W - 4, y: y + 4, "text-anchor": "end", text: opts.value(r) }));
      chart.appendChild(g);
    });
    host.appendChild(chart);
  }

  function accuracyChart() {
    var rows = qualityRows.filter(function (r) { return r.accuracy != null; });
    rowChart("chart-accuracy", rows, {
      label: "accuracy with 95% confidence intervals", domain: [0, 1], empty: "no answered items",
      tick: function (t) { return Math.round(t * 100) + "%"; },
      value: function (r) { return fmt.pct(r.accuracy); },
      draw: function (g, r, y, x, color) {
        var lo = r.accuracy_ci_low == null ? r.accuracy : r.accuracy_ci_low;
        var hi = r.accuracy_ci_high == null ? r.accuracy : r.accuracy_ci_high;
        g.appendChild(svg("line", { x1: x(lo), x2: x(hi), y1: y, y2: y, stroke: color, "stroke-width": 2 }));
        [lo, hi].forEach(function (v) { g.appendChild(svg("line", { x1: x(v), x2: x(v), y1: y - 5, y2: y + 5, stroke: color, "stroke-width": 2 })); });
        g.appendChild(svg("circle", { cx: x(r.accuracy), cy: y, r: 5, fill: color },
          tip(whoRow(r) + " \u00b7 " + r.suite + ": " + fmt.pct(r.accuracy) + " [" + fmt.pct(lo) + ", " + fmt.pct(hi) + "], n=" + (r.passed + r.failed))));
      },
    });
  }

  function latencyChart() {
    var boxes = data.latency.filter(function (b) { return !servingSuites[b.suite]; });
    var top = Math.max.apply(null, boxes.map(function (b) { return b.p99; }).concat([0]));
    rowChart("chart-latency", boxes, {
      label: "latency distributions", domain: [0, top * 1.05 || 1], empty: "no timed requests",
      tick: function (t) { return fmt.sec(t); },
      value: function (b) { return "p50 " + fmt.sec(b.p50); },
      draw: function (g, b, y, x, color) {
        g.appendChild(svg("line", { x1: x(b.p5), x2: x(b.p95), y1: y, y2: y, stroke: color, "stroke-width": 1.5 }));
        [b.p5, b.p95].forEach(function (v) { g.appendChild(svg("line", { x1: x(v), x2: x(v), y1: y - 4, y2: y + 4, stroke: color })); });
        g.appendChild(svg("rect", { x: x(b.p25), y: y - 7, width: Math.max(1, x(b.p75) - x(b.p25)), height: 14,
          fill: color, "fill-opacity": 0.25, stroke: color }));
        g.appendChild(svg("line", { x1: x(b.p50), x2: x(b.p50), y1: y - 7, y2: y + 7, stroke: color, "stroke-width": 2.5 }));
        g.appendChild(svg("path", { d: "M" + x(b.p99) + " " + (y - 4) + "l4 4l-4 4l-4 -4z", fill: color }));
        g.appendChild(tip(whoRow(b) + " \u00b7 " + b.suite + " (n=" + b.n + "): min " + fmt.sec(b.min) + ", p5 " + fmt.sec(b.p5) +
          ", p25 " + fmt.sec(b.p25) + ", p50 " + fmt.sec(b.p50) + ", p75 " + fmt.sec(b.p75) + ", p95 " + fmt.sec(b.p95) +
          ", p99 " + fmt.sec(b.p99) + ", max " + fmt.sec(b.max)));
      },
    });
  }

  function tpsChart() {
    var rows = qualityRows.filter(function (r) { return r.output_tps != null; });
    var top = Math.max.apply(null, rows.map(function (r) { return r.output_tps; }).concat([0]));
    rowChart("chart-tps", rows, {
      label: "output tokens per second", domain: [0, top * 1.05 || 1], empty: "no streamed tokens measured",
      tick: function (t) { return String(t); },
      value: function (r) { return fmt.tps(r.output_tps) + " tok/s"; },
      draw: function (g, r, y, x, color) {
        g.appendChild(svg("rect", { x: x(0), y: y - 6, width: Math.max(1, x(r.output_tps) - x(0)), height: 12, fill: color },
          tip(whoRow(r) + " \u00b7 " + r.suite + ": " + fmt.tps(r.output_tps) + " output tokens/s")));
      },
    });
  }

  /* A chart with nothing to draw is not shown: its figure goes, one short line says why. */
  function dropPanel(target, why) {
    var figure = document.getElementById(target).closest("figure");
    figure.hidden = true;
    var notes = document.getElementById("chart-notes");
    notes.appendChild(el("li", { "data-dropped": target }, why));
    notes.hidden = false;
  }

  /* One point per model (and variant) in the rankings' scope: pooled over the suites, or
     one suite's rows, so every point carries a short label. */
  function costChart() {
    var host = document.getElementById("chart-cost");
    host.textContent = "";
    var answered = qualityRows.filter(function (r) { return r.accuracy != null; });
    if (!answered.some(function (r) { return costPer1k(r) != null; })) {
      if (answered.length) dropPanel("chart-cost", "Accuracy against cost: cost unknown for every model, nothing to plot.");
      else dropPanel("chart-cost", "Accuracy against cost: no answered items.");
      return;
    }
    var scope = document.getElementById("rank-scope").value;
    var rows = scope !== ALL ? answered.filter(function (r) { return r.suite === scope; })
      : suiteNames.length === 1 ? answered : data.model_rows.filter(function (r) { return r.accuracy != null; });
    document.getElementById("cost-scope").textContent = scope !== ALL ? scope : suiteNames.length > 1 ? "all suites (pooled)" : "";
    var points = [], unknown = [];
    rows.forEach(function (r) {
      var c = costPer1k(r);
      (c == null ? unknown : points).push({ row: r, cost: c });
    });
    if (!points.length) {
      host.appendChild(el("div", { class: "chart-note" }, "No cost known in this scope."));
      return;
    }
    var W = chartWidth(host), H = 320, L = 64, R = 24, T = 14, B = 40;
    var costs = points.map(function (p) { return p.cost; });
    var cmin = Math.min.apply(null, costs), cmax = Math.max.apply(null, costs);
    var log = cmin > 0 && cmax / cmin > 30;
    var lo, hi, ticks;
    if (log) {
      lo = Math.pow(10, Math.floor(Math.log10(cmin))); hi = Math.pow(10, Math.ceil(Math.log10(cmax)));
      ticks = []; for (var t = lo; t <= hi * 1.0001; t *= 10) ticks.push(t);
    } else {
      lo = 0; hi = cmax > 0 ? cmax * 1.1 : 1; ticks = niceTicks(lo, hi, 5);
    }
    var x = function (v) {
      var f = log ? (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : (v - lo) / (hi - lo);
      return L + f * (W - L - R);
    };
    var y = function (v) { return T + (1 - v) * (H - T - B); };
    var chart = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": "accuracy against cost", "data-chart": "chart-cost" });
    var axis = svg("g", { class: "axis" });
    ticks.forEach(function (t) {
      axis.appendChild(svg("line", { class: "grid", x1: x(t), x2: x(t), y1: T, y2: H - B }));
      axis.appendChild(svg("text", { x: x(t), y: H - B + 14, "text-anchor": "middle", text: fmt.usdTick(t) }));
    });
    [0, 0.25, 0.5, 0.75, 1].forEach(function (v) {
      axis.appendChild(svg("line", { class: "grid", x1: L, x2: W - R, y1: y(v), y2: y(v) }));
      axis.appendChild(svg("text", { x: L - 6, y: y(v) + 4, "text-anchor": "end", text: Math.round(v * 100) + "%" }));
    });
    axis.appendChild(svg("text", { x: (L + W - R) / 2, y: H - 6, "text-anchor": "middle",
      text: "cost per 1,000 items (USD" + (log ? ", log scale" : "") + ")" }));
    chart.appendChild(axis);
    var dots = points.map(function (p) { return { p: p, cx: x(p.cost), cy: y(p.row.accuracy) }; });
    var labels = svg("g", { class: "point-labels" });
    var placed = dots.map(function (d) { return { x0: d.cx - 7, x1: d.cx + 7, y0: d.cy - 7, y1: d.cy + 7 }; });
    dots.forEach(function (d) {
      var r = d.p.row;
      chart.appendChild(svg("circle", { cx: d.cx, cy: d.cy, r: 6, fill: colorOf(r.model), "fill-opacity": 0.85,
        stroke: "#fff", "data-model": r.model, "data-suite": r.suite, "data-variant": r.variant || null },
        tip(whoRow(r) + " \u00b7 " + r.suite + ": accuracy " + fmt.pct(r.accuracy) + ", " + fmt.usd(d.p.cost) + " per 1,000 items")));
      var text = clipLabel(whoRow(r), 40);
      var spot = labelSpot(d, text.length * 6.3, placed, L, W - 2, T, H - B);
      placed.push(spot.box);
      if (spot.leader) labels.appendChild(svg("line", { class: "leader", x1: d.cx, y1: d.cy, x2: spot.lx, y2: spot.ly - 4 }));
      labels.appendChild(svg("text", { class: "point-label", x: spot.tx, y: spot.ty, "text-anchor": spot.anchor,
        "data-model": r.model, "data-variant": r.variant || null, text: text }));
    });
    chart.appendChild(labels);
    host.appendChild(chart);
    if (unknown.length) {  // one line naming each model (and variant) once
      var names = [];
      unknown.forEach(function (p) { if (names.indexOf(whoRow(p.row)) < 0) names.push(whoRow(p.row)); });
      host.appendChild(el("div", { class: "chart-note", id: "cost-unknown" }, "Cost unknown (not plotted): " + names.join(", ")));
    }
  }

  /* Where a point's label goes: right, left, above or below the point, the first place that
     overlaps no point or label already placed (else the least crowded one, with a leader line). */
  function labelSpot(d, width, placed, xmin, xmax, ymin, ymax) {
    var h = 12, best = null;
    var tries = [[9, 4, "start"], [-9, 4, "end"], [0, -10, "middle"], [0, 18, "middle"],
                 [9, -10, "start"], [9, 18, "start"], [-9, -10, "end"], [-9, 18, "end"],
                 [14, 30, "start"], [14, -22, "start"], [-14, 30, "end"], [-14, -22, "end"]];
    tries.forEach(function (t, i) {
      var tx = d.cx + t[0], ty = d.cy + t[1];
      var x0 = t[2] === "start" ? tx : t[2] === "end" ? tx - width : tx - width / 2;
      if (x0 < xmin) { x0 = xmin; }
      if (x0 + width > xmax) { x0 = xmax - width; }
      var box = { x0: x0, x1: x0 + width, y0: ty - h + 2, y1: ty + 2 };
      if (box.y0 < ymin - 8 || box.y1 > ymax + 8) return;
      var hits = placed.reduce(function (n, b) {
        return n + (b.x0 < box.x1 && box.x0 < b.x1 && b.y0 < box.y1 && box.y0 < b.y1 ? 1 : 0);
      }, 0);
      var score = hits * 100 + i;
      if (!best || score < best.score) {
        best = { score: score, box: box, tx: x0, ty: ty, anchor: "start", leader: i >= 8 || hits > 0,
                 lx: x0 + width < d.cx ? x0 + width : x0 > d.cx ? x0 : d.cx, ly: ty };
      }
    });
    return best || { box: { x0: 0, x1: 0, y0: 0, y1: 0 }, tx: d.cx + 9, ty: d.cy + 4, anchor: "start" };
  }

  function renderLegend() {
    var box = document.getElementById("legend");
    modelNames.forEach(function (m) { box.appendChild(el("span", null, el("i", { style: "background:" + colorOf(m) }), m)); });
  }

  // ---------- items ----------
  var F = {};
  data.item_fields.forEach(function (name, i) { F[name] = i; });
  var items = [], haystacks = [], matches = [];
  var loading = null, loaded = false;
  var state = defaults();
  var form = document.getElementById("item-filters");

  function defaults() { return { filter: "all", model: "", variant: "", suite: "", sort: "run", q: "", page: 0, expand: "" }; }
  var FORM_KEYS = ["filter", "model", "variant", "suite", "sort", "q"];

  function inflate(b64) {
    var bin = atob(b64), bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
    return new Response(stream).text().then(JSON.parse);
  }

  function loadItems() {
    if (loading) return loading;
    var chunks = Array.prototype.slice.call(document.querySelectorAll("script.llmbench-chunk"));
    if (chunks.length && typeof DecompressionStream === "undefined") {
      setStatus("This browser cannot unpack the items (it needs DecompressionStream: Chrome 80+, Firefox 113+, Safari 16.4+).");
      loading = Promise.resolve();
      return loading;
    }
    loading = chunks.reduce(function (previous, node) {
      return previous.then(function () { return inflate(node.textContent); }).then(function (rows) {
        node.textContent = "";  // the page keeps the parsed rows; drop the text
        var start = items.length;
        for (var i = 0; i < rows.length; i++) items.push(rows[i]);
        for (var j = start; j < items.length; j++) if (matchesState(j)) matches.push(j);
        refreshItems(false);
      });
    }, Promise.resolve()).then(function () {
      loaded = true;
      root.setAttribute("data-items-loaded", String(items.length));
      root.setAttribute("data-items-ms", String(Math.round(performance.now())));
      applyFilters();
    }).catch(function (err) {
      setStatus("Could not load the items: " + err);
      window.__llmbenchShowError("Items: " + err);
    });
    return loading;
  }

  function promptText(p) {
    if (Array.isArray(p)) return p.map(function (m) { return Array.isArray(m) ? m.join(": ") : String(m); }).join("\n");
    return p == null ? "" : (typeof p === "string" ? p : JSON.stringify(p));
  }
  function asText(v) { return v == null ? "" : (typeof v === "string" ? v : JSON.stringify(v, null, 2)); }
  function extracted(it) {
    var d = it[F.score_details] || {};
    if (d.extracted !== undefined) return d.extracted;
    if (d.matched !== undefined) return d.matched;
    return undefined;
  }
  function haystack(i) {
    var h = haystacks[i];
    if (h === undefined) {
      var it = items[i];
      h = haystacks[i] = [it[F.case_id], it[F.variant], promptText(it[F.prompt]), it[F.response], asText(it[F.expected]),
        it[F.error], asText(extracted(it)), it[F.nodeid]].join("\n").toLowerCase();
    }
    return h;
  }

  function matchesState(i) {
    var it = items[i], o = it[F.outcome];
    switch (state.filter) {
      case "failures": if (o !== "failed") return false; break;
      case "errors": if (o !== "error") return false; break;
      case "problems": if (o !== "failed" && o !== "error") return false; break;
      case "passed": if (o !== "passed") return false; break;
      case "skipped": if (o !== "skipped") return false; break;
      case "extraction": if (!it[F.extraction_failed]) return false; break;
    }
    if (state.model && data.models[it[F.model]] !== state.model) return false;
    if (state.variant && (it[F.variant] || "") !== state.variant) return false;
    if (state.suite && data.suites[it[F.suite]] !== state.suite) return false;
    if (state.q && haystack(i).indexOf(state.q.toLowerCase()) < 0) return false;
    return true;
  }

  function applyFilters() {
    matches = [];
    for (var i = 0; i < items.length; i++) if (matchesState(i)) matches.push(i);
    var key = state.sort === "slowest" ? F.latency_s : state.sort === "score" ? F.score : null;
    if (key != null) {
      var dir = state.sort === "slowest" ? -1 : 1;
      matches.sort(function (a, b) {
        var x = items[a][key], y = items[b][key];
        if (x == null) return y == null ? a - b : 1;
        if (y == null) return -1;
        return dir * (x - y) || a - b;
      });
    }
    var pages = Math.max(1, Math.ceil(matches.length / PAGE));
    if (state.page >= pages) state.page = pages - 1;
    refreshItems(true);
  }

  function setStatus(text) { document.getElementById("items-status").textContent = text; }

  function refreshItems(full) {
    var status = document.getElementById("items-status");
    var total = data.item_count;
    status.textContent = (loaded ? "" : "loading items\u2026 " + fmt.num(items.length) + " of " + fmt.num(total) + " \u00b7 ") +
      fmt.num(matches.length) + " matching item" + (matches.length === 1 ? "" : "s") + (loaded ? " of " + fmt.num(total) : "");
    status.setAttribute("data-matched", String(matches.length));
    var list = document.getElementById("items-list");
    var shown = list.querySelectorAll("details.item").length;
    var slice = matches.slice(state.page * PAGE, state.page * PAGE + PAGE);
    if (full || shown < slice.length) {
      list.textContent = "";
      if (slice.length) {
        list.appendChild(el("div", { class: "items-head" }, el("span", null, "outcome"), el("span", null, "suite"),
          el("span", null, variants.length ? "model \u00b7 variant" : "model"), el("span", null, "case"), el("span", null, "score"), el("span", null, "latency"),
          el("span", null, "answer / error")));
      }
      slice.forEach(function (i) { list.appendChild(itemNode(i)); });
    }
    var pages = Math.max(1, Math.ceil(matches.length / PAGE));
    document.getElementById("page-info").textContent = "page " + (state.page + 1) + " of " + pages;
    document.getElementById("page-prev").disabled = state.page <= 0;
    document.getElementById("page-next").disabled = state.page >= pages - 1;
  }

  function itemNode(i) {
    var it = items[i], outcome = it[F.outcome] || "";
    var got = extracted(it);
    var brief = it[F.error] ? it[F.error]
      : "expected " + clipLabel(asText(it[F.expected]), 40) + (got !== undefined ? " \u00b7 got " + clipLabel(asText(got), 40) : "");
    var node = el("details", { class: "item", "data-outcome": outcome, "data-i": i },
      el("summary", null,
        el("span", null, el("span", { class: "badge o-" + outcome }, outcome)),
        el("span", { title: data.suites[it[F.suite]] }, data.suites[it[F.suite]]),
        el("span", { class: "who", title: who(data.models[it[F.model]], it[F.variant]) }, who(data.models[it[F.model]], it[F.variant])),
        el("span", { class: "mono", title: it[F.case_id] }, it[F.case_id]),
        el("span", null, it[F.score] == null ? "\u2013" : Number(it[F.score]).toFixed(2)),
        el("span", null, fmt.sec(it[F.latency_s])),
        el("span", { title: brief, class: it[F.error] ? "bad" : null }, brief)));
    node.addEventListener("toggle", function () {
      if (node.open && !node.querySelector(".item-body")) node.appendChild(itemBody(it));
    });
    if (state.expand) {  // #items?expand=1: every row of the page opened (for printing)
      node.open = true;
      node.appendChild(itemBody(it));
    }
    return node;
  }

  var JUDGE_KEY = /judge|verdict|rationale|critique|explanation|grader/i;

  function itemBody(it) {
    var dl = el("dl", { class: "item-body" });
    function row(label, content) {
      if (content == null || content === "") return;
      dl.appendChild(el("dt", null, label));
      dl.appendChild(el("dd", null, content));
    }
    function pre(text) { return el("pre", null, text); }
    var prompt = it[F.prompt];
    if (Array.isArray(prompt)) {
      row("prompt", prompt.map(function (m) {
        return Array.isArray(m) ? [el("div", { class: "role" }, m[0]), pre(m[1])] : pre(String(m));
      }));
    } else if (prompt != null) row("prompt", pre(asText(prompt)));
    row("response", it[F.response] == null ? null : pre(it[F.response]));
    row("reasoning", it[F.reasoning] == null ? null : pre(it[F.reasoning]));
    row("expected", it[F.expected] == null ? null : pre(asText(it[F.expected])));
    var got = extracted(it);
    row("extracted answer", got === undefined && !it[F.extraction_failed] ? null
      : pre((got == null ? "(none)" : asText(got)) + (it[F.extraction_failed] ? "  \u2014 extraction failed" : "")));
    row("score", it[F.score] == null ? null : String(it[F.score]) + " (" + it[F.outcome] + ")");
    var details = it[F.score_details] || {};
    var judge = {};
    Object.keys(details).forEach(function (k) { if (JUDGE_KEY.test(k)) judge[k] = details[k]; });
    row("judge", Object.keys(judge).length ? pre(asText(judge)) : null);
    row("score details", Object.keys(details).length ? pre(asText(details)) : null);
    row("error", it[F.error] ? el("pre", { class: "bad" }, (it[F.error_kind] ? "[" + it[F.error_kind] + "] " : "") + it[F.error]) : null);
    var measures = [
      it[F.latency_s] != null ? "latency " + fmt.sec(it[F.latency_s]) : null,
      it[F.ttft_s] != null ? "TTFT " + fmt.sec(it[F.ttft_s]) : null,
      it[F.input_tokens] != null || it[F.output_tokens] != null ? fmt.num(it[F.input_tokens]) + " \u2192 " + fmt.num(it[F.output_tokens]) + " tokens" : null,
      it[F.output_tps] != null ? fmt.tps(it[F.output_tps]) + " tok/s" : null,
      "cost " + fmt.usd(it[F.cost_usd]),
      it[F.attempts] ? it[F.attempts] + " attempt" + (it[F.attempts] === 1 ? "" : "s") : null,
      it[F.finish_reason] ? "finish " + it[F.finish_reason] : null,
      it[F.target] ? "target " + it[F.target] : null,
      it[F.variant] ? "variant " + it[F.variant] : null,
    ].filter(Boolean).join(" \u00b7 ");
    row("measured", measures);
    var metrics = it[F.metrics];
    row("metrics", metrics && Object.keys(metrics).length ? pre(asText(metrics)) : null);
    row("test", it[F.nodeid] ? el("code", null, it[F.nodeid]) : null);
    return dl;
  }

  function setupItems() {
    var modelSelect = form.elements.model, suiteSelect = form.elements.suite;
    data.models.forEach(function (m) { modelSelect.appendChild(el("option", { value: m }, m)); });
    var variantSelect = form.elements.variant;
    variants.forEach(function (v) { variantSelect.appendChild(el("option", { value: v }, v)); });
    variantSelect.closest("label").hidden = !variants.length;
    data.suites.forEach(function (s) { suiteSelect.appendChild(el("option", { value: s }, s)); });
    var timer = null;
    form.addEventListener("input", function (e) {
      clearTimeout(timer);
      timer = setTimeout(function () {
        readForm();
        state.page = 0;
        writeHash();
        applyFilters();
      }, e.target.name === "q" ? 250 : 0);
    });
    document.getElementById("page-prev").addEventListener("click", function () { state.page--; writeHash(); refreshItems(true); scrollTo(0, 0); });
    document.getElementById("page-next").addEventListener("click", function () { state.page++; writeHash(); refreshItems(true); scrollTo(0, 0); });
  }
  function readForm() {
    FORM_KEYS.forEach(function (k) { state[k] = form.elements[k].value; });
  }
  function writeForm() {
    FORM_KEYS.forEach(function (k) {
      var field = form.elements[k];
      if (field.tagName === "SELECT" && state[k] && !Array.prototype.some.call(field.options, function (o) { return o.value === state[k]; })) {
        field.appendChild(el("option", { value: state[k] }, state[k]));  // a name from the link, even if absent here
      }
      field.value = state[k];
    });
  }
  function writeHash() {
    var params = new URLSearchParams();
    var base = defaults();
    Object.keys(state).forEach(function (k) {
      if (state[k] !== base[k]) params.set(k, k === "page" ? String(state[k] + 1) : state[k]);
    });
    var query = params.toString();
    history.replaceState(null, "", "#items" + (query ? "?" + query : ""));
  }

  // ---------- views and the URL hash ----------
  function route() {
    var raw = location.hash.replace(/^#/, ""), view = raw, query = null;
    var q = raw.indexOf("?");
    if (q >= 0) { view = raw.slice(0, q); query = raw.slice(q + 1); }
    else if (raw.indexOf("=") >= 0) { view = "items"; query = raw; }
    if (VIEWS.indexOf(view) < 0) view = "overview";
    var sort = view === "overview" && query !== null ? new URLSearchParams(query).get("sort") : null;
    if (sort) {  // #overview?sort=-accuracy: a shareable sorted table
      tableSort = { key: sort.replace(/^-/, ""), dir: sort.charAt(0) === "-" ? -1 : 1 };
      renderTable();
    }
    if (view === "items" && query !== null) {
      var params = new URLSearchParams(query);
      state = defaults();
      FORM_KEYS.concat(["expand"]).forEach(function (k) { if (params.has(k)) state[k] = params.get(k); });
      if (params.has("page")) state.page = Math.max(0, (parseInt(params.get("page"), 10) || 1) - 1);
      writeForm();
      if (items.length) applyFilters();
    }
    show(view);
    if (view === "sides" && kit.sides) kit.sides(query);
  }
  var VIEWS = ["overview", "items", "sides", "run"];
  function show(view) {
    VIEWS.forEach(function (v) {
      document.getElementById("view-" + v).hidden = v !== view;
    });
    Array.prototype.forEach.call(document.querySelectorAll("nav.tabs a"), function (a) {
      a.classList.toggle("active", a.getAttribute("data-view") === view);
    });
    root.setAttribute("data-view", view);
    if (view === "items") loadItems();
    if (view === "overview") pinAll();
  }

  // helpers for serving.js and sides.js (inlined after this file)
  var kit = window.__llmbenchKit = { data: data, el: el, svg: svg, tip: tip, niceTicks: niceTicks, colorOf: colorOf,
    fmt: fmt, who: who, F: F, items: items, loadItems: loadItems, servingSuites: servingSuites, swatch: swatch,
    pinColumns: pinColumns, promptText: promptText, asText: asText, clipLabel: clipLabel, sides: null };
  renderTable();
  setupRankings();
  renderLegend();
  accuracyChart();
  latencyChart();
  costChart();
  tpsChart();
  setupItems();
  window.addEventListener("hashchange", route);
  window.addEventListener("resize", pinAll);
  // the views of the files inlined after this one exist once the document is parsed
  document.addEventListener("DOMContentLoaded", function () {
    route();
    root.setAttribute("data-render-ms", String(Math.round(performance.now())));
  });
})();
