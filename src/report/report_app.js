// Spectra report page: builds the interactive heatmap, the per-head detail
// (scatter of a deterministic sample, per-document r) and the sortable heads
// table from the inlined run data. Plain DOM + Vega; no network.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("spectra-data").textContent);
  var col = {};
  D.cols.forEach(function (c, i) { col[c] = i; });
  var heads = D.rows.map(function (row) {
    var o = {};
    D.cols.forEach(function (c, i) { o[c] = row[i]; });
    o.key = o.layer + "," + o.head;
    o.label = "L" + o.layer + " H" + o.head;
    return o;
  });
  var byKey = {};
  heads.forEach(function (h) { byKey[h.key] = h; });

  function fmt(x, d) { return x === null || x === undefined || !isFinite(x) ? "n/a" : Number(x).toFixed(d); }
  function fmtP(p) {
    if (p === null || !isFinite(p)) return "n/a";
    if (p <= 0) return "< 1e-300";
    return p >= 0.001 ? p.toFixed(3) : p.toExponential(1);
  }
  function pEq(p) { var t = fmtP(p); return t.charAt(0) === "<" ? t : "= " + t; }
  function statsLine(h) {
    return h.label + ": r = " + fmt(h.r, 3) + ", \u03c1 = " + fmt(h.rho, 3) + ", p (adjusted) " + pEq(h.p_adj) + ", n = " + Number(h.n).toLocaleString("en-US");
  }

  // ---- Tooltip (custom handler: a real element, visible in screenshots).
  var tip = document.getElementById("tooltip");
  function tooltipHandler(handler, event, item, value) {
    if (!value) { tip.style.display = "none"; return; }
    var h = byKey[value.key];
    if (!h) { tip.style.display = "none"; return; }
    tip.innerHTML = "<strong>layer " + h.layer + ", head " + h.head + "</strong><br>within-document r = " +
      fmt(h.within_r, 3) + " (CI " + fmt(h.within_ci_low, 3) + " to " + fmt(h.within_ci_high, 3) + ")<br>pooled r = " + fmt(h.r, 3) +
      " (95% CI " + fmt(h.ci_low, 3) + " to " + fmt(h.ci_high, 3) + ")<br>\u03c1 = " + fmt(h.rho, 3) +
      "<br>partial r = " + fmt(h.partial_r, 3) + "<br>p (adjusted) " + pEq(h.p_adj) +
      "<br>n = " + Number(h.n).toLocaleString("en-US") +
      (h.passes ? "<br><em>passes the criteria</em>" : "");
    tip.style.display = "block";
    tip.style.left = (event.pageX + 14) + "px";
    tip.style.top = (event.pageY + 14) + "px";
  }

  // ---- Heatmap (default: the decision's statistic when the run has it).
  var startMetric = heads.some(function (h) { return h.within_r !== null && isFinite(h.within_r); }) ? "within_r" : "r";
  document.getElementById("metric").value = startMetric;
  var cellSize = Math.max(10, Math.min(40, Math.floor(640 / Math.max(D.heads, 1))));
  var cellH = Math.max(8, Math.min(cellSize, Math.floor(560 / Math.max(D.layers, 1))));
  var heatSpec = {
    width: cellSize * D.heads, height: cellH * D.layers, padding: 5, autosize: "pad",
    signals: [
      {name: "metric", value: startMetric},
      {name: "clicked", value: null, on: [{events: "@cell:click", update: "datum.key"}]}
    ],
    data: [{name: "cells", values: heads, transform: [
      {type: "formula", as: "value", expr: "metric === 'r' ? datum.r : metric === 'within_r' ? datum.within_r : datum.partial_r"}]}],
    scales: [
      {name: "x", type: "band", domain: {signal: "sequence(0, " + D.heads + ")"}, range: "width"},
      {name: "y", type: "band", domain: {signal: "sequence(0, " + D.layers + ")"}, range: "height", reverse: true},
      {name: "color", type: "linear", domain: [-1, 1], range: {scheme: "redblue"}, reverse: true, clamp: true}
    ],
    axes: [
      {orient: "bottom", scale: "x", title: "query head", labelOverlap: true},
      {orient: "left", scale: "y", title: "layer", labelOverlap: true}
    ],
    legends: [{fill: "color", type: "gradient", title: {signal: "metric === 'r' ? 'pooled r' : metric === 'within_r' ? 'within-document r' : 'partial r'"},
               gradientLength: Math.min(300, cellH * D.layers)}],
    marks: [
      {type: "rect", name: "cell", from: {data: "cells"}, encode: {
        enter: {x: {scale: "x", field: "head"}, width: {scale: "x", band: 1},
                y: {scale: "y", field: "layer"}, height: {scale: "y", band: 1},
                tooltip: {signal: "{key: datum.key}"}, cursor: {value: "pointer"}},
        update: {fill: [{test: "!isValid(datum.value)", value: "#bdbdbd"}, {scale: "color", field: "value"}],
                 stroke: {value: "white"}, strokeWidth: {value: 0.5}},
        hover: {stroke: {value: "black"}, strokeWidth: {value: 2}}}},
      {type: "symbol", name: "ring", from: {data: "cells"}, interactive: false, encode: {
        enter: {x: {scale: "x", field: "head", band: 0.5}, y: {scale: "y", field: "layer", band: 0.5},
                shape: {value: "circle"}, size: {value: Math.pow(Math.min(cellSize, cellH) * 0.55, 2)},
                stroke: {value: "black"}, strokeWidth: {value: 1.5}, fill: {value: "transparent"},
                opacity: {signal: "datum.passes ? 1 : 0"}}}}
    ]
  };
  var heatView = new vega.View(vega.parse(heatSpec), {renderer: "svg", container: "#heatmap", hover: true});
  heatView.tooltip(tooltipHandler);
  heatView.addSignalListener("clicked", function (name, key) { if (key) showHead(key); });
  document.getElementById("metric").addEventListener("change", function (e) {
    heatView.signal("metric", e.target.value).runAsync();
  });
  var ready = [heatView.runAsync()];

  // ---- Per-head detail.
  var scatterView = null, docView = null;
  function showHead(key) {
    var h = byKey[key];
    if (!h) return;
    document.getElementById("detail-title").textContent = h.label + (h.passes ? " (passes the criteria)" : "");
    document.getElementById("detail-stats").textContent = statsLine(h) + "; partial r = " + fmt(h.partial_r, 3) +
      "; per-document r " + fmt(h.doc_mean_r, 3) + " \u00b1 " + fmt(h.doc_sd_r, 3);
    var s = D.samples[key] || [[], [], [], []];
    var pts = [], n = s[0].length, sx = 0, sy = 0, sxx = 0, sxy = 0, xmin = Infinity, xmax = -Infinity;
    for (var i = 0; i < n; i++) {
      pts.push({q: s[0][i], H: s[1][i], t: s[2][i], doc: s[3][i]});
      sx += s[0][i]; sy += s[1][i]; sxx += s[0][i] * s[0][i]; sxy += s[0][i] * s[1][i];
      xmin = Math.min(xmin, s[0][i]); xmax = Math.max(xmax, s[0][i]);
    }
    var slope = n > 1 ? (sxy - sx * sy / n) / (sxx - sx * sx / n) : 0, icpt = n ? (sy - slope * sx) / n : 0;
    var line = n > 1 && isFinite(slope) ? [{q: xmin, H: icpt + slope * xmin}, {q: xmax, H: icpt + slope * xmax}] : [];
    var scatterSpec = {
      width: 420, height: 300, padding: 5, autosize: "pad",
      title: {text: h.label + ": " + n + " sampled rows, coloured by position", fontSize: 12},
      data: [{name: "pts", values: pts}, {name: "fit", values: line}],
      scales: [
        {name: "x", type: "linear", domain: {data: "pts", field: "q"}, range: "width", zero: false, nice: true},
        {name: "y", type: "linear", domain: {data: "pts", field: "H"}, range: "height", zero: false, nice: true},
        {name: "c", type: "linear", domain: {data: "pts", field: "t"}, range: {scheme: "plasma"}}
      ],
      axes: [
        {orient: "bottom", scale: "x", title: "query norm \u2016q\u2016\u2082"},
        {orient: "left", scale: "y", title: "attention entropy H (nats)"}
      ],
      legends: [{fill: "c", type: "gradient", title: "position t"}],
      marks: [
        {type: "symbol", name: "points", from: {data: "pts"}, encode: {enter: {
          x: {scale: "x", field: "q"}, y: {scale: "y", field: "H"}, size: {value: 10},
          fill: {scale: "c", field: "t"}, fillOpacity: {value: 0.6}}}},
        {type: "line", from: {data: "fit"}, clip: true, encode: {enter: {
          x: {scale: "x", field: "q"}, y: {scale: "y", field: "H"}, stroke: {value: "black"},
          strokeWidth: {value: 2}, strokeDash: {value: [6, 4]}}}}
      ]
    };
    if (scatterView) scatterView.finalize();
    scatterView = new vega.View(vega.parse(scatterSpec), {renderer: "svg", container: "#scatter"});
    var dr = (D.docR[key] || []).map(function (x) { return {doc: x[0], r: x[1]}; });
    var docSpec = {
      width: 420, height: 160, padding: 5, autosize: "pad",
      title: {text: "r within each document (dashed: pooled r = " + fmt(h.r, 3) + ")", fontSize: 12},
      data: [{name: "d", values: dr}, {name: "ref", values: [{r: h.r}]}],
      scales: [
        {name: "x", type: "point", domain: {data: "d", field: "doc", sort: true}, range: "width", padding: 0.5},
        {name: "y", type: "linear", domain: [-1, 1], range: "height"}
      ],
      axes: [
        {orient: "bottom", scale: "x", title: "document", labelOverlap: true},
        {orient: "left", scale: "y", title: "Pearson r", tickCount: 5, grid: true}
      ],
      marks: [
        {type: "rule", from: {data: "ref"}, encode: {enter: {x: {value: 0}, x2: {signal: "width"},
          y: {scale: "y", field: "r"}, stroke: {value: "#b2182b"}, strokeDash: {value: [6, 4]}}}},
        {type: "symbol", name: "docpoints", from: {data: "d"}, encode: {enter: {
          x: {scale: "x", field: "doc"}, y: {scale: "y", field: "r"}, size: {value: 40},
          fill: {signal: "datum.r < 0 ? '#2166ac' : '#b2182b'"}, tooltip: {signal: "{document: datum.doc, r: format(datum.r, '.3f')}"}}}}
      ]
    };
    if (docView) docView.finalize();
    docView = new vega.View(vega.parse(docSpec), {renderer: "svg", container: "#docbars"});
    document.body.setAttribute("data-selected", key);
    return Promise.all([scatterView.runAsync(), docView.runAsync()]).then(function () {
      document.body.setAttribute("data-detail-ready", key);
    });
  }

  // ---- Sortable table of all heads.
  var columns = [
    ["label", "head", null], ["within_r", "within-doc r", 3], ["within_ci_low", "CI low", 3], ["within_ci_high", "CI high", 3],
    ["tau2", "\u03c4\u00b2", 4], ["cross_p95", "cross-doc null p95 |r|", 3], ["content_r", "within-doc r (H_c)", 3], ["r", "pooled r", 3], ["ci_low", "pooled CI low", 3], ["ci_high", "pooled CI high", 3], ["rho", "\u03c1", 3],
    ["partial_r", "partial r", 3], ["r_norm", "r vs H/log(t+1)", 3], ["p_adj", "p (adjusted)", "p"], ["p_bh", "p (BH)", "p"], ["p_by", "p (BY)", "p"],
    ["shuffle_p95", "shuffled p95 |r|", 3], ["circular_r", "circular r", 3], ["doc_mean_r", "doc r mean", 3],
    ["doc_sd_r", "doc r sd", 3], ["sign_agreement", "sign agreement", 2], ["n", "n", 0], ["passes", "passes", "b"]
  ];
  var table = document.getElementById("heads-table");
  var sortKey = startMetric, sortAbs = true, sortDir = -1;
  function cellText(h, c) {
    var v = h[c[0]];
    if (c[2] === null) return v;
    if (c[2] === "p") return fmtP(v);
    if (c[2] === "b") return v ? "yes" : "no";
    if (c[2] === 0) return Number(v).toLocaleString("en-US");
    return fmt(v, c[2]);
  }
  function sortValue(h, key) {
    if (key === "label") return h.layer * 100000 + h.head;
    var v = h[key];
    if (v === null || !isFinite(v)) return -Infinity;
    return sortAbs ? Math.abs(v) : v;
  }
  function renderTable() {
    var rows = heads.slice().sort(function (a, b) {
      var x = sortValue(a, sortKey), y = sortValue(b, sortKey);
      return x === y ? (a.layer - b.layer) || (a.head - b.head) : (x < y ? -sortDir : sortDir);
    });
    var html = "<thead><tr>";
    columns.forEach(function (c) {
      var mark = c[0] === sortKey ? (sortDir > 0 ? " \u25b2" : " \u25bc") + (sortAbs && c[0] !== "label" ? "|\u00b7|" : "") : "";
      html += "<th data-key=\"" + c[0] + "\" title=\"click to sort; click again to reverse\">" + c[1] + mark + "</th>";
    });
    html += "</tr></thead><tbody>";
    rows.forEach(function (h) {
      html += "<tr data-key=\"" + h.key + "\"" + (h.passes ? " class=\"pass\"" : "") + ">";
      columns.forEach(function (c) { html += "<td>" + cellText(h, c) + "</td>"; });
      html += "</tr>";
    });
    table.innerHTML = html + "</tbody>";
  }
  table.addEventListener("click", function (e) {
    var th = e.target.closest("th");
    if (th) {
      var k = th.getAttribute("data-key");
      if (k === sortKey) {
        if (sortAbs && k !== "label") sortAbs = false; else sortDir = -sortDir;
      } else { sortKey = k; sortDir = k === "label" ? 1 : -1; sortAbs = ["within_r", "content_r", "r", "rho", "partial_r", "r_norm", "circular_r", "doc_mean_r"].indexOf(k) >= 0; }
      renderTable();
      return;
    }
    var tr = e.target.closest("tr[data-key]");
    if (tr) { showHead(tr.getAttribute("data-key")); document.getElementById("explore").scrollIntoView(); }
  });
  renderTable();

  // Start on the strongest head so the detail panel is never empty.
  var strongest = heads.slice().sort(function (a, b) { return Math.abs(b.r || 0) - Math.abs(a.r || 0); })[0];
  Promise.all(ready).then(function () {
    document.body.setAttribute("data-heatmap-ready", "1");
    if (strongest) showHead(strongest.key);
  });
})();
