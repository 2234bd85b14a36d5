/* Report behaviour: language toggle, horizon switch, filters, sorting, pack details.
   Data is read from the JSON block and only ever placed with textContent or
   createElement, never parsed as HTML. */
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var SVGNS = "http://www.w3.org/2000/svg";
  var lang = "nl";

  function tr(key, args) {
    var s = (DATA.strings[lang] || {})[key];
    if (s === undefined) { return key; }
    if (args) {
      Object.keys(args).forEach(function (k) { s = s.split("{" + k + "}").join(String(args[k])); });
    }
    return s;
  }

  function applyLanguage() {
    document.documentElement.lang = lang;
    document.querySelectorAll("[data-i18n]").forEach(function (el) {
      var args = el.getAttribute("data-i18n-args");
      el.textContent = tr(el.getAttribute("data-i18n"), args ? JSON.parse(args) : null);
    });
    document.getElementById("f-search").placeholder = tr("filter.search");
    document.querySelectorAll("tr.detail:not([hidden]) .detail-body").forEach(function (body) {
      renderDetail(body.closest("tbody"), true);
    });
  }

  function activeHorizon() { return document.getElementById("horizon").value; }

  function showHorizon() {
    var h = activeHorizon();
    document.querySelectorAll(".h-block").forEach(function (el) {
      el.classList.toggle("active", el.getAttribute("data-horizon") === h);
    });
  }

  function matches(pack, f) {
    if (Number(pack.dataset.rank) > f.top) { return false; }
    if (f.atc && pack.dataset.atc.indexOf(f.atc) !== 0) { return false; }
    if (f.crit === "any" && !pack.dataset.crit) { return false; }
    if (f.crit === "none" && pack.dataset.crit) { return false; }
    if ((f.crit === "red" || f.crit === "orange") && pack.dataset.crit !== f.crit) { return false; }
    if (f.sup && pack.dataset.sup !== f.sup) { return false; }
    if (f.q && pack.dataset.search.indexOf(f.q) === -1) { return false; }
    return true;
  }

  function applyFilters() {
    var f = {
      top: Number(document.getElementById("f-top").value),
      atc: document.getElementById("f-atc").value.toUpperCase(),
      crit: document.getElementById("f-crit").value,
      sup: document.getElementById("f-sup").value,
      q: document.getElementById("f-search").value.trim().toLowerCase()
    };
    document.querySelectorAll("table.packs").forEach(function (table) {
      var shown = 0;
      table.querySelectorAll("tbody.pack").forEach(function (pack) {
        var ok = matches(pack, f);
        pack.hidden = !ok;
        if (ok) { shown += 1; }
      });
      var block = table.closest(".h-block");
      block.querySelector(".shown-count").textContent = String(shown);
      block.querySelector(".none-match").hidden = shown > 0;
    });
  }

  function sortBy(th) {
    var table = th.closest("table");
    var key = th.getAttribute("data-key");
    var numeric = th.getAttribute("data-type") === "num";
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th").forEach(function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var packs = Array.prototype.slice.call(table.querySelectorAll("tbody.pack"));
    packs.sort(function (a, b) {
      var x = a.dataset[key], y = b.dataset[key];
      var c = numeric ? Number(x) - Number(y) : x.localeCompare(y);
      if (c === 0) { c = Number(a.dataset.rank) - Number(b.dataset.rank); }
      return ascending ? c : -c;
    });
    packs.forEach(function (p) { table.appendChild(p); });
  }

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function svg(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    Object.keys(attrs).forEach(function (k) { e.setAttribute(k, String(attrs[k])); });
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  function pct(p, digits) { return (p * 100).toFixed(digits === undefined ? 1 : digits) + "%"; }

  function trendChart(points) {
    var w = 320, h = 110, pad = 30;
    var max = Math.max.apply(null, points.map(function (p) { return p[1]; }).concat([0.05]));
    var x = function (i) { return pad + i * (w - pad - 10) / Math.max(points.length - 1, 1); };
    var y = function (p) { return h - 22 - p / max * (h - 34); };
    var chart = svg("svg", { width: w, height: h, viewBox: "0 0 " + w + " " + h, "class": "trend" });
    chart.appendChild(svg("line", { x1: pad, y1: y(0), x2: w - 10, y2: y(0), "class": "axis" }));
    chart.appendChild(svg("text", { x: pad - 4, y: y(max) + 4, "text-anchor": "end" }, pct(max, 0)));
    chart.appendChild(svg("text", { x: pad - 4, y: y(0) + 4, "text-anchor": "end" }, "0%"));
    chart.appendChild(svg("polyline", {
      points: points.map(function (p, i) { return x(i).toFixed(1) + "," + y(p[1]).toFixed(1); }).join(" ")
    }));
    points.forEach(function (p, i) {
      var dot = svg("circle", { cx: x(i), cy: y(p[1]), r: 3 });
      dot.appendChild(svg("title", {}, p[0] + ": " + pct(p[1])));
      chart.appendChild(dot);
    });
    var last = points.length - 1;
    chart.appendChild(svg("text", { x: x(0), y: h - 6, "text-anchor": "start" }, points[0][0]));
    chart.appendChild(svg("text", { x: x(last), y: h - 6, "text-anchor": "end" }, points[last][0]));
    return chart;
  }

  function barLabel(bar) {
    if (bar[0] === "base_value") { return tr("detail.base"); }
    if (bar[0] === "other") { return tr("detail.other"); }
    var label = bar[1] ? bar[0] + " = " + bar[1] : bar[0];
    return label.length > 40 ? label.slice(0, 39) + "\u2026" : label;
  }

  function waterfallChart(d) {
    var bars = d.bars, rowH = 22, labelW = 250, valueW = 80, w = 720;
    var plotW = w - labelW - valueW;
    var top = Math.max.apply(null, bars.map(function (b) { return Math.max(b[3], b[4]); }).concat([d.p, 0.01]));
    var x = function (p) { return labelW + p / top * plotW; };
    var rows = bars.length + 1, h = rows * rowH + 8;
    var chart = svg("svg", { width: w, height: h, viewBox: "0 0 " + w + " " + h, "class": "waterfall" });
    bars.forEach(function (b, i) {
      var y0 = 4 + i * rowH, lo = Math.min(b[3], b[4]), hi = Math.max(b[3], b[4]);
      var cls = i === 0 ? "base" : (b[4] >= b[3] ? "up" : "down");
      var text = svg("text", { x: labelW - 6, y: y0 + 15, "text-anchor": "end" }, barLabel(b));
      text.appendChild(svg("title", {}, b[1] ? b[0] + " = " + b[1] : b[0]));
      chart.appendChild(text);
      var rect = svg("rect", { x: x(lo).toFixed(1), y: y0 + 3, width: Math.max(x(hi) - x(lo), 1).toFixed(1), height: rowH - 6, "class": cls });
      if (b[5]) { rect.appendChild(svg("title", {}, b[5])); }
      chart.appendChild(rect);
      var delta = (b[4] - b[3]) * 100;
      var label = i === 0 ? pct(b[4]) : (delta >= 0 ? "+" : "") + delta.toFixed(1) + " pp";
      chart.appendChild(svg("text", { x: x(hi) + 4, y: y0 + 15, "class": "value" }, label));
    });
    var yEnd = 4 + bars.length * rowH;
    chart.appendChild(svg("text", { x: labelW - 6, y: yEnd + 15, "text-anchor": "end", "class": "strong" }, tr("detail.final")));
    chart.appendChild(svg("rect", { x: x(0), y: yEnd + 3, width: Math.max(x(d.praw) - x(0), 1).toFixed(1), height: rowH - 6, "class": "final" }));
    chart.appendChild(svg("text", { x: x(d.praw) + 4, y: yEnd + 15, "class": "value" }, pct(d.praw)));
    chart.appendChild(svg("line", { x1: x(d.p), y1: 2, x2: x(d.p), y2: h - 2, "class": "calibrated" }));
    return chart;
  }

  function renderDetail(pack, force) {
    var body = pack.querySelector(".detail-body");
    if (body.childNodes.length && !force) { return; }
    while (body.firstChild) { body.removeChild(body.firstChild); }
    var h = pack.closest("table").getAttribute("data-horizon");
    var d = DATA.details[h][pack.dataset.zi];
    var head = el("p", "detail-head");
    head.appendChild(el("strong", null, tr("detail.probability") + ": " + pct(d.p)));
    if (d.praw !== null) { head.appendChild(el("span", "muted", " · " + tr("detail.raw") + ": " + pct(d.praw))); }
    body.appendChild(head);
    var grid = el("div", "detail-grid");
    var left = el("div");
    left.appendChild(el("h4", null, tr("detail.trend")));
    left.appendChild(d.trend.length > 1 ? trendChart(d.trend) : el("p", "muted", tr("detail.no_trend")));
    var right = el("div");
    right.appendChild(el("h4", null, tr("detail.waterfall")));
    if (d.bars.length) {
      right.appendChild(waterfallChart(d));
      right.appendChild(el("p", "muted small", tr("detail.calibration_note")));
    } else {
      right.appendChild(el("p", "muted", tr("detail.no_drivers")));
    }
    grid.appendChild(left);
    grid.appendChild(right);
    body.appendChild(grid);
    var sentences = d.bars.filter(function (b) { return b[5]; });
    if (sentences.length) {
      body.appendChild(el("h4", null, tr("detail.sentences")));
      var list = el("ul", "sentences");
      sentences.forEach(function (b) { list.appendChild(el("li", b[2] >= 0 ? "up" : "down", b[5])); });
      body.appendChild(list);
    }
  }

  function toggleDetail(row) {
    var pack = row.closest("tbody");
    var detail = pack.querySelector("tr.detail");
    var open = detail.hidden;
    if (open) { renderDetail(pack, false); }
    detail.hidden = !open;
    row.setAttribute("aria-expanded", open ? "true" : "false");
  }

  document.getElementById("lang-toggle").addEventListener("click", function () {
    lang = lang === "nl" ? "en" : "nl";
    applyLanguage();
  });
  document.getElementById("horizon").addEventListener("change", showHorizon);
  ["f-top", "f-atc", "f-crit", "f-sup"].forEach(function (id) {
    document.getElementById(id).addEventListener("change", applyFilters);
  });
  document.getElementById("f-search").addEventListener("input", applyFilters);
  document.querySelectorAll("table.sortable th[data-key]").forEach(function (th) {
    th.addEventListener("click", function () { sortBy(th); });
  });
  document.querySelectorAll("table.packs tr.main").forEach(function (row) {
    row.addEventListener("click", function () { toggleDetail(row); });
    row.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggleDetail(row); }
    });
  });
  document.body.classList.add("js");
  document.getElementById("f-search").placeholder = tr("filter.search");
  showHorizon();
  applyFilters();
})();
