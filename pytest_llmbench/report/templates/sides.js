/* pytest-llmbench report, the side-by-side view: one row per case (suite + case id), one
   column per model (and prompt variant), each cell the answer with its verdict, as in
   promptfoo's output table. Built from the items the Items view unpacks, one page of rows at
   a time (a run of 100,000 items keeps 25 rows in the DOM). A case a model did not run is
   shown as "not run". Text from records is only ever set with textContent. */
(function () {
  "use strict";
  var kit = window.__llmbenchKit;
  var el = kit.el, data = kit.data, F = kit.F, fmt = kit.fmt, who = kit.who;
  var PAGE = 25, ANSWER = 280, PROMPT = 220;
  var ALL = "";
  var form = document.getElementById("sides-filters");
  var root = document.documentElement;
  var index = null, built = 0, state = defaults();

  function defaults() { return { suite: null, show: "all", q: "", page: 0 }; }

  /* Cases per suite and the columns that ran in it, from the items unpacked so far. */
  function build() {
    var items = kit.items;
    if (index && built === items.length) return index;
    index = { suites: [], bySuite: {} };
    var order = {};  // columns in the summary's order: model, then variant
    data.rows.forEach(function (r, i) {
      var key = r.suite + "\u0000" + who(r.model, r.variant);
      if (!(key in order)) order[key] = i;
    });
    for (var i = 0; i < items.length; i++) {
      var it = items[i], suite = data.suites[it[F.suite]];
      if (kit.servingSuites[suite]) continue;  // load points are not cases with answers
      var s = index.bySuite[suite];
      if (!s) {
        s = index.bySuite[suite] = { name: suite, cases: [], byCase: {}, columns: [], byColumn: {} };
        index.suites.push(suite);
      }
      var model = data.models[it[F.model]], variant = it[F.variant] || null;
      var col = who(model, variant);
      if (!(col in s.byColumn)) {
        s.byColumn[col] = { key: col, model: model, variant: variant,
                            rank: order[suite + "\u0000" + col] == null ? 1e9 + s.columns.length : order[suite + "\u0000" + col] };
        s.columns.push(s.byColumn[col]);
      }
      var caseId = String(it[F.case_id]);
      var c = s.byCase[caseId];
      if (!c) { c = s.byCase[caseId] = { suite: suite, id: caseId, first: i, cells: {} }; s.cases.push(c); }
      c.cells[col] = i;
    }
    index.suites.forEach(function (name) {
      index.bySuite[name].columns.sort(function (a, b) { return a.rank - b.rank; });
    });
    built = items.length;
    return index;
  }

  function selection() {
    var idx = build();
    var names = state.suite === ALL ? idx.suites : [state.suite];
    var columns = [], seen = {};
    names.forEach(function (n) {
      var s = idx.bySuite[n];
      if (!s) return;
      s.columns.forEach(function (c) { if (!seen[c.key]) { seen[c.key] = true; columns.push(c); } });
    });
    var rows = [];
    names.forEach(function (n) {
      var s = idx.bySuite[n];
      if (s) s.cases.forEach(function (c) { if (keep(c, columns)) rows.push(c); });
    });
    return { columns: columns, rows: rows };
  }

  function keep(c, columns) {
    var outcomes = columns.map(function (col) {
      var i = c.cells[col.key];
      return i == null ? null : kit.items[i][F.outcome];
    }).filter(function (o) { return o != null; });
    if (state.show === "disagree" && new Set(outcomes).size < 2) return false;
    if (state.show === "problems" && outcomes.every(function (o) { return o === "passed"; })) return false;
    if (state.show === "allfail" && outcomes.some(function (o) { return o === "passed"; })) return false;
    if (state.q) {
      var q = state.q.toLowerCase(), first = kit.items[c.first];
      var texts = [c.id, kit.promptText(first[F.prompt]), kit.asText(first[F.expected])];
      Object.keys(c.cells).forEach(function (k) {
        var it = kit.items[c.cells[k]];
        texts.push(it[F.response], it[F.error]);
      });
      if (texts.join("\n").toLowerCase().indexOf(q) < 0) return false;
    }
    return true;
  }

  /* The question a case asks: the last user message (the system prompt and shots differ by variant). */
  function question(p) {
    if (Array.isArray(p)) {
      for (var i = p.length - 1; i >= 0; i--) {
        if (Array.isArray(p[i]) && p[i][0] === "user") return String(p[i][1]);
      }
      return kit.promptText(p);
    }
    return kit.asText(p);
  }

  function clipped(text, limit, cls) {
    text = text == null ? "" : String(text);
    if (text.length <= limit) return el("div", { class: cls }, text);
    return el("details", { class: "more " + cls },
      el("summary", null, el("span", { class: "clip" }, text.slice(0, limit) + "\u2026 "),
        el("span", { class: "expand" }, "(" + fmt.num(text.length) + " characters)")),
      el("pre", null, text));
  }

  function cell(c, col) {
    var i = c.cells[col.key];
    if (i == null) return el("td", { class: "not-run", "data-col": col.key, "data-outcome": "not-run" }, "not run");
    var it = kit.items[i], outcome = it[F.outcome] || "";
    var score = it[F.score] == null ? null : Number(it[F.score]).toFixed(2);
    var head = el("div", { class: "verdict" }, el("span", { class: "badge o-" + outcome }, outcome),
      score != null ? el("span", { class: "score" }, "score " + score) : null,
      it[F.latency_s] != null ? el("span", { class: "lat" }, fmt.sec(it[F.latency_s])) : null);
    var body;
    if (it[F.error]) body = clipped((it[F.error_kind] ? "[" + it[F.error_kind] + "] " : "") + it[F.error], ANSWER, "answer bad");
    else if (it[F.response] == null || it[F.response] === "") body = el("div", { class: "answer unknown" }, "(empty answer)");
    else body = clipped(it[F.response], ANSWER, "answer");
    var details = it[F.score_details] || {};
    var got = details.extracted !== undefined ? details.extracted : details.matched;
    var shownGot = got === undefined || (got != null && kit.asText(got).trim() === String(it[F.response] || "").trim())
      ? null : el("div", { class: "got" }, "extracted: " + (got == null ? "(none)" : kit.asText(got)));
    return el("td", { "data-col": col.key, "data-outcome": outcome }, head, body, shownGot);
  }

  function render() {
    var sel = selection();
    var pages = Math.max(1, Math.ceil(sel.rows.length / PAGE));
    if (state.page >= pages) state.page = pages - 1;
    var slice = sel.rows.slice(state.page * PAGE, state.page * PAGE + PAGE);
    var table = document.getElementById("sides-table");
    table.textContent = "";
    var head = el("tr", null, el("th", { scope: "col", class: "case" }, "case"));
    sel.columns.forEach(function (col) {
      var ran = 0, passed = 0;
      sel.rows.forEach(function (c) {
        var i = c.cells[col.key];
        if (i == null) return;
        ran++;
        if (kit.items[i][F.outcome] === "passed") passed++;
      });
      head.appendChild(el("th", { scope: "col", "data-col": col.key, "data-model": col.model, "data-variant": col.variant },
        el("div", null, kit.swatch(col.model), col.key),
        el("small", null, passed + " / " + ran + " passed")));
    });
    var body = el("tbody");
    slice.forEach(function (c) {
      var first = kit.items[c.first];
      var tr = el("tr", { "data-suite": c.suite, "data-case": c.id },
        el("th", { scope: "row", class: "case" },
          el("div", { class: "case-id" }, el("span", { class: "suite" }, c.suite), " ", el("code", null, c.id)),
          clipped(question(first[F.prompt]), PROMPT, "prompt"),
          first[F.expected] != null ? el("div", { class: "expected" }, "expected: ",
            el("code", null, kit.clipLabel(kit.asText(first[F.expected]), 200))) : null));
      sel.columns.forEach(function (col) { tr.appendChild(cell(c, col)); });
      body.appendChild(tr);
    });
    if (!slice.length) body.appendChild(el("tr", null, el("td", { colspan: sel.columns.length + 1 }, "no cases match")));
    table.appendChild(el("thead", null, head));
    table.appendChild(body);
    var status = document.getElementById("sides-status");
    status.textContent = fmt.num(sel.rows.length) + " case" + (sel.rows.length === 1 ? "" : "s") + " \u00d7 " +
      sel.columns.length + " model" + (sel.columns.length === 1 ? "" : "s / variants");
    status.setAttribute("data-cases", String(sel.rows.length));
    document.getElementById("sides-page").textContent = "page " + (state.page + 1) + " of " + pages;
    document.getElementById("sides-prev").disabled = state.page <= 0;
    document.getElementById("sides-next").disabled = state.page >= pages - 1;
    root.setAttribute("data-sides-rows", String(slice.length));
  }

  function setupSuites() {
    var select = form.elements.suite, idx = build();
    select.textContent = "";
    if (idx.suites.length > 1) select.appendChild(el("option", { value: ALL }, "all suites"));
    idx.suites.forEach(function (s) { select.appendChild(el("option", { value: s }, s)); });
    if (state.suite == null || (state.suite !== ALL && !idx.bySuite[state.suite])) state.suite = idx.suites[0] || ALL;
    select.value = state.suite;
  }

  function writeHash() {
    var params = new URLSearchParams();
    if (state.suite) params.set("suite", state.suite);
    if (state.show !== "all") params.set("show", state.show);
    if (state.q) params.set("q", state.q);
    if (state.page) params.set("page", String(state.page + 1));
    var query = params.toString();
    history.replaceState(null, "", "#sides" + (query ? "?" + query : ""));
  }

  var timer = null;
  form.addEventListener("input", function (e) {
    clearTimeout(timer);
    timer = setTimeout(function () {
      state.suite = form.elements.suite.value;
      state.show = form.elements.show.value;
      state.q = form.elements.q.value;
      state.page = 0;
      writeHash();
      render();
    }, e.target.name === "q" ? 250 : 0);
  });
  document.getElementById("sides-prev").addEventListener("click", function () { state.page--; writeHash(); render(); scrollTo(0, 0); });
  document.getElementById("sides-next").addEventListener("click", function () { state.page++; writeHash(); render(); scrollTo(0, 0); });

  /* Called by the router when #sides[?suite=..&show=..&q=..&page=N] opens. */
  kit.sides = function (query) {
    var params = new URLSearchParams(query || "");
    state = defaults();
    if (params.has("suite")) state.suite = params.get("suite");
    if (params.has("show")) state.show = params.get("show");
    if (params.has("q")) state.q = params.get("q");
    if (params.has("page")) state.page = Math.max(0, (parseInt(params.get("page"), 10) || 1) - 1);
    form.elements.show.value = state.show;
    form.elements.q.value = state.q;
    document.getElementById("sides-status").textContent = "loading items\u2026";
    kit.loadItems().then(function () {
      setupSuites();
      render();
      root.setAttribute("data-sides-ready", "1");
    });
  };
})();
