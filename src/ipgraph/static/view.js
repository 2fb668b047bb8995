
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("ipgraph-data").textContent);
  var styles = {};
  data.classes.forEach(function (c) { styles[c.name] = c; });
  var byId = {};
  data.nodes.forEach(function (n) { byId[n.id] = n; });
  var nodes = new vis.DataSet(data.nodes.map(function (n) {
    var s = styles[n.c];
    var item = { id: n.id, label: n.label, shape: s.shape, size: n.size,
      color: { background: s.color, border: s.color, highlight: { background: "#ffd400", border: "#333" } } };
    if (n.x !== undefined) { item.x = n.x; item.y = n.y; }
    return item;
  }));
  var edges = new vis.DataSet(data.edges.map(function (e, i) {
    var item = { id: i, from: e.from, to: e.to, arrows: "to", width: Math.min(1 + Math.log2(e.weight || 1), 6) };
    if (data.edgeLabels) { item.label = e.relation; }
    if (e.parallel) { item.smooth = { enabled: true, type: "curvedCW", roundness: 0.25 * e.parallel }; }
    return item;
  }));
  var large = !data.physics;
  var options = {
    nodes: { font: { size: 12, face: "system-ui, sans-serif" }, borderWidth: 1,
      widthConstraint: { maximum: 170 } },
    edges: { color: { color: "#9aa", highlight: "#333" }, font: { size: 10, align: "middle", color: "#555",
      strokeWidth: 3 }, smooth: large ? false : { type: "continuous" } },
    interaction: { hover: true, hideEdgesOnDrag: large, hideEdgesOnZoom: large, tooltipDelay: 150 },
    layout: { improvedLayout: !large, randomSeed: 7 },
    physics: large ? false : { solver: "forceAtlas2Based", stabilization: { iterations: 250, updateInterval: 50 },
      forceAtlas2Based: { gravitationalConstant: -110, springLength: 150, avoidOverlap: 0.4 } }
  };
  var container = document.getElementById("network");
  var network = new vis.Network(container, { nodes: nodes, edges: edges }, options);
  var api = { network: network, nodes: nodes, edges: edges, data: data, ready: false, select: select };
  window.ipgraph = api;
  function ready() {
    if (!large) { network.setOptions({ physics: false }); network.fit({ animation: false }); }
    api.ready = true;
    api.readyAt = performance.now();
    document.body.setAttribute("data-ready", "true");
  }
  if (large) { network.once("afterDrawing", ready); } else { network.once("stabilizationIterationsDone", ready); }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }
  function safeLink(url) {
    var a = el("a", url);
    if (/^https?:\/\//i.test(url)) { a.href = url; a.target = "_blank"; a.rel = "noopener noreferrer"; }
    return a;
  }

  var details = document.getElementById("details");
  function showDetails(id) {
    var n = byId[id];
    details.replaceChildren();
    if (!n) { details.appendChild(el("p", "Click a node to see its details.", "muted")); return; }
    details.appendChild(el("h2", n.label));
    var dl = el("dl");
    n.d.forEach(function (pair) {
      dl.appendChild(el("dt", pair[0]));
      var dd = el("dd");
      if (pair[0] === "source link" || pair[0] === "IRI") {
        pair[1].split("\n").forEach(function (u) { dd.appendChild(safeLink(u)); dd.appendChild(el("br")); });
      } else { dd.textContent = pair[1]; }
      dl.appendChild(dd);
    });
    var links = network.getConnectedEdges(id).map(function (eid) { return data.edges[eid]; });
    if (links.length) {
      dl.appendChild(el("dt", "relations"));
      links.slice(0, 50).forEach(function (e) {
        var out = e.from === id;
        var other = byId[out ? e.to : e.from];
        dl.appendChild(el("dd", (out ? "\u2192 " : "\u2190 ") + e.relation + " " + (other ? other.label : "")));
      });
    }
    details.appendChild(dl);
  }
  function select(id) {
    if (!byId[id]) { return false; }
    network.selectNodes([id]);
    network.focus(id, { scale: 1.1, animation: false });
    showDetails(id);
    return true;
  }
  function showEdge(eid) {
    var e = data.edges[eid];
    if (!e) { return false; }
    details.replaceChildren();
    var from = byId[e.from], to = byId[e.to];
    details.appendChild(el("h2", (from ? from.label : e.from) + " \u2192 " + (to ? to.label : e.to)));
    var dl = el("dl");
    [["relation", e.relation], ["weight", String(e.weight || 1)], ["via", (e.via || "").split(" | ").join("\n")]]
      .forEach(function (pair) { if (pair[1]) { dl.append(el("dt", pair[0]), el("dd", pair[1])); } });
    details.appendChild(dl);
    return true;
  }
  api.showEdge = showEdge;
  network.on("click", function (p) {
    if (p.nodes.length) { showDetails(p.nodes[0]); } else if (p.edges.length) { showEdge(p.edges[0]); }
    else { showDetails(null); }
  });

  var tooltip = document.getElementById("tooltip");
  network.on("hoverNode", function (p) {
    var n = byId[p.node];
    tooltip.replaceChildren(el("strong", n.label), el("span", n.c, "muted"));
    n.d.forEach(function (pair) {
      if (pair[0] === "class" || pair[0] === "IRI") { return; }
      var text = pair[1].length > 300 ? pair[1].slice(0, 300) + "\u2026" : pair[1];
      tooltip.appendChild(el("div", pair[0] + ": " + text));
    });
    var r = container.getBoundingClientRect();
    tooltip.style.left = Math.min(r.left + p.pointer.DOM.x + 14, window.innerWidth - 370) + "px";
    tooltip.style.top = (r.top + p.pointer.DOM.y + 14) + "px";
    tooltip.style.display = "block";
  });
  network.on("blurNode", function () { tooltip.style.display = "none"; });
  network.on("dragStart", function () { tooltip.style.display = "none"; });

  var search = document.getElementById("search");
  var matches = document.getElementById("matches");
  // Search matches the label and every other name (Chinese names, aliases in any language):
  // a whole name first, then names that start with the text, then names that hold it.
  var names = data.nodes.map(function (n) {
    return [n.label].concat(n.n ? n.n.split("\n") : []).map(function (t) { return t.toLowerCase(); });
  });
  function find(q) {
    q = q.trim().toLowerCase();
    if (!q) { return []; }
    var ranks = [[], [], []];
    data.nodes.forEach(function (n, i) {
      var best = 3;
      names[i].forEach(function (l) {
        var at = l.indexOf(q);
        if (l === q) { best = 0; } else if (at === 0) { best = Math.min(best, 1); } else if (at > 0) { best = Math.min(best, 2); }
      });
      if (best < 3) { ranks[best].push(n); }
    });
    return ranks[0].concat(ranks[1], ranks[2]).slice(0, 30);
  }
  search.addEventListener("input", function () {
    matches.replaceChildren();
    find(search.value).forEach(function (n) {
      var li = el("li", n.label);
      li.title = n.c + (n.n ? "\n" + n.n : "");
      li.addEventListener("click", function () { select(n.id); });
      matches.appendChild(li);
    });
  });
  search.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") { var found = find(search.value); if (found.length) { select(found[0].id); } }
  });

  var legend = document.getElementById("legend");
  data.classes.forEach(function (c) {
    var label = el("label");
    var box = el("input");
    box.type = "checkbox"; box.checked = true; box.value = c.name;
    box.addEventListener("change", function () {
      nodes.update(data.nodes.filter(function (n) { return n.c === c.name; })
        .map(function (n) { return { id: n.id, hidden: !box.checked }; }));
    });
    var swatch = el("span", undefined, "swatch");
    swatch.style.background = c.color;
    if (c.shape === "dot") { swatch.style.borderRadius = "50%"; }
    label.append(box, swatch, el("span", c.name), el("span", String(c.count), "count"));
    legend.appendChild(label);
  });
  var notes = document.getElementById("notes");
  data.notes.forEach(function (t) { notes.appendChild(el("span", t + " ")); });
  document.getElementById("counts").textContent = data.nodes.length + " nodes, " + data.edges.length + " edges";
  showDetails(null);
})();
