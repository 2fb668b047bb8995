(function () {
  "use strict";
  // The analyst pages (figures, map, timeline): tooltips from data-t, and each page's controls.
  // Every text shown comes from attributes or JSON and is set with textContent, never as HTML.
  var tooltip = document.getElementById("tooltip");
  var dataNode = document.getElementById("ipgraph-data");
  var data = dataNode ? JSON.parse(dataNode.textContent) : {};
  var tips = data.tips || [];
  function tipText(target) {
    var n = target.getAttribute("data-f");
    return n !== null ? tips[Number(n)] : target.getAttribute("data-t");
  }
  function show(target, x, y) {
    tooltip.textContent = tipText(target);
    tooltip.style.display = "block";
    var w = tooltip.offsetWidth, h = tooltip.offsetHeight;
    tooltip.style.left = Math.max(4, Math.min(x + 14, window.innerWidth - w - 8)) + "px";
    tooltip.style.top = (y + 14 + h > window.innerHeight ? Math.max(4, y - h - 10) : y + 14) + "px";
  }
  function hide() { tooltip.style.display = "none"; }
  document.addEventListener("mouseover", function (ev) {
    var t = ev.target.closest && ev.target.closest("[data-t], [data-f]");
    if (t) { show(t, ev.clientX, ev.clientY); } else { hide(); }
  });
  document.addEventListener("focusin", function (ev) {
    var t = ev.target.closest && ev.target.closest("[data-t], [data-f]");
    if (t) { var r = t.getBoundingClientRect(); show(t, r.left, r.bottom); }
  });
  document.addEventListener("focusout", hide);

  var page = document.body.getAttribute("data-page");
  var api = { data: data };
  window.ipgraph = api;

  if (page === "figures") {
    var picker = document.getElementById("indicator");
    var showIndicator = function (n) {
      document.querySelectorAll("section.indicator").forEach(function (s) { s.hidden = s.id !== "indicator-" + n; });
    };
    if (picker) { picker.addEventListener("change", function () { showIndicator(picker.value); }); }
    api.showIndicator = function (n) { picker.value = String(n); showIndicator(n); };
  }

  if (page === "map") {
    var choice = document.getElementById("choice");
    var legend = document.getElementById("map-legend");
    var svgNS = "http://www.w3.org/2000/svg";
    var light = { "#08519c": true, "#3182bd": true };
    var colour = function (n) {
      var c = data.choices[n];
      document.querySelectorAll("#map a.tile").forEach(function (a) {
        var iso = a.getAttribute("data-iso"), rect = a.querySelector("rect");
        var tile = c.tiles[iso];
        var name = a.querySelector("text.name").textContent;
        rect.setAttribute("fill", tile ? tile[0] : "#f2f2f2");
        rect.setAttribute("data-t", tile ? tile[1] : name + ": " + c.none);
        rect.setAttribute("class", tile && tile[2] ? "conflict" : "");
        a.querySelector("text.value").textContent = tile ? tile[3] : "";
        a.querySelectorAll("text").forEach(function (t) { t.setAttribute("fill", tile && light[tile[0]] ? "#fff" : "#222"); });
      });
      document.getElementById("legend-title").textContent = c.label;
      legend.replaceChildren();
      c.legend.forEach(function (entry) {
        var li = document.createElement("li");
        var svg = document.createElementNS(svgNS, "svg");
        svg.setAttribute("class", "swatch"); svg.setAttribute("viewBox", "0 0 12 12");
        var r = document.createElementNS(svgNS, "rect");
        r.setAttribute("width", "12"); r.setAttribute("height", "12"); r.setAttribute("rx", "2");
        r.setAttribute("fill", entry[0]);
        svg.appendChild(r);
        li.append(svg, document.createTextNode(entry[1]));
        legend.appendChild(li);
      });
    };
    choice.addEventListener("change", function () { colour(Number(choice.value)); });
    api.colour = function (n) { choice.value = String(n); colour(n); };
  }

  if (page === "timeline") {
    var items = Array.prototype.slice.call(document.querySelectorAll("#timeline > li"));
    var boxes = document.querySelectorAll(".kind-box");
    var selects = ["r", "a", "i"].map(function (k) { return [k, document.getElementById("filter-" + k)]; });
    var shown = document.getElementById("shown");
    var filter = function () {
      var kinds = {};
      boxes.forEach(function (b) { kinds[b.value] = b.checked; });
      var wanted = selects.filter(function (s) { return s[1].value !== ""; })
        .map(function (s) { return ["data-" + s[0], "|" + s[1].value + "|"]; });
      var count = 0;
      items.forEach(function (li) {
        var ok = kinds[li.getAttribute("data-k")];
        for (var i = 0; ok && i < wanted.length; i++) {
          ok = (li.getAttribute(wanted[i][0]) || "").indexOf(wanted[i][1]) >= 0;
        }
        li.hidden = !ok;
        if (ok) { count++; }
      });
      shown.textContent = count + " of " + items.length + " shown";
      redraw();
      return count;
    };
    // The histogram counts the items shown: its bars are redrawn, stacked, on the same scale.
    var histogram = document.getElementById("histogram");
    var bars = Array.prototype.slice.call(histogram.querySelectorAll("rect[data-year]"));
    var base = Number(histogram.getAttribute("data-base")), scale = Number(histogram.getAttribute("data-scale"));
    var redraw = function () {
      var counts = {};
      items.forEach(function (li) {
        if (!li.hidden) { var key = li.getAttribute("data-y") + " " + li.getAttribute("data-k"); counts[key] = (counts[key] || 0) + 1; }
      });
      var tops = {};
      bars.forEach(function (r) {
        var year = r.getAttribute("data-year"), kind = r.getAttribute("data-kind");
        var n = counts[year + " " + kind] || 0, h = n * scale, top = tops[year] === undefined ? base : tops[year];
        r.setAttribute("y", String(top - h)); r.setAttribute("height", String(h));
        r.setAttribute("data-t", year + ": " + n + " " + kind + (n === 1 ? "" : "s"));
        tops[year] = top - h;
      });
    };
    boxes.forEach(function (b) { b.addEventListener("change", filter); });
    selects.forEach(function (s) { s[1].addEventListener("change", filter); });
    api.filter = filter;
  }

  api.ready = true;
  api.readyAt = performance.now();
  document.body.setAttribute("data-ready", "true");
})();
