/* The transmission graph: reads the JSON written by the page (json_script "graph-data") or, with
   data-src on #graph, fetches it from the API; draws cases, contacts and contacts who later
   tested positive with Apache ECharts (vendored, canvas). No inline script or style (CSP). */
(function () {
  "use strict";
  var box = document.getElementById("graph");
  if (!box || typeof echarts === "undefined") { return; }
  var COLORS = { case: "#c0392b", contact: "#f0a04b", became_case: "#7b1fa2" };
  var ORDER = ["case", "contact", "became_case"];
  var labels = {
    case: box.dataset.labelCase, contact: box.dataset.labelContact, became_case: box.dataset.labelBecame,
    exposure: box.dataset.labelExposure, became_edge: box.dataset.labelBecameEdge
  };

  function draw(data) {
    var chart = echarts.init(box, null, { renderer: "canvas" });
    var nodes = data.nodes.map(function (n) {
      return {
        id: n.id, name: n.name, value: n.date, category: ORDER.indexOf(n.category),
        symbolSize: n.category === "case" ? 34 : 22,
        label: { show: true, position: "bottom" }
      };
    });
    var edges = data.edges.map(function (e) {
      return {
        source: e.source, target: e.target, value: e.kind === "became_case" ? labels.became_edge : labels.exposure,
        lineStyle: e.kind === "became_case" ? { type: "dashed", width: 2, color: COLORS.became_case } : { width: 1.5 }
      };
    });
    chart.setOption({
      tooltip: { formatter: function (p) { return p.dataType === "edge" ? p.data.value : p.data.name + " " + p.data.value; } },
      color: ORDER.map(function (c) { return COLORS[c]; }),
      series: [{
        type: "graph", layout: "force", roam: true, draggable: true,
        force: { repulsion: 160, edgeLength: [50, 110], gravity: 0.2 },
        edgeSymbol: ["none", "arrow"], edgeSymbolSize: 8,
        categories: ORDER.map(function (c) { return { name: labels[c], itemStyle: { color: COLORS[c] } }; }),
        data: nodes, links: edges
      }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
    box.dataset.drawn = String(nodes.length);
  }

  var inline = document.getElementById("graph-data");
  if (inline) {
    draw(JSON.parse(inline.textContent));
  } else if (box.dataset.src) {
    fetch(box.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(draw);
  }
})();
