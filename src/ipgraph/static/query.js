// The query page: YASGUI on this server's /sparql endpoint, with the named
// queries of queries/*.rq to pick from. No request leaves this origin.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("ipgraph-config").textContent);
  const endpoint = new URL(config.endpoint, window.location.href).href;
  const byName = new Map(config.queries.map((q) => [q.name, q]));
  const wanted = decodeURIComponent(window.location.hash.slice(1));
  const first = byName.get(wanted) || config.queries[0];
  const yasgui = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: true,
    persistenceId: null,
    populateFromUrl: false,
    endpointCatalogueOptions: { getData: () => [{ endpoint: endpoint }] },
    yasqe: { value: first ? first.text : "SELECT * WHERE { ?s ?p ?o } LIMIT 10", autocompleters: ["variables"] },
  });
  window.ipgraphYasgui = yasgui;
  // Results link the graph's own IRIs to their pages on this server.
  const own = config.resources;
  const relink = () => {
    for (const link of document.querySelectorAll("#yasgui a[href^='" + own + "']")) {
      link.href = "/id/" + link.getAttribute("href").slice(own.length);
      link.removeAttribute("target");
    }
  };
  new MutationObserver(relink).observe(document.getElementById("yasgui"), { childList: true, subtree: true });
  const select = document.getElementById("named-query");
  if (first) select.value = first.name;
  select.addEventListener("change", () => {
    const query = byName.get(select.value);
    if (!query) return;
    const tab = yasgui.getTab();
    tab.setEndpoint(endpoint);
    tab.setQuery(query.text);
    window.location.hash = encodeURIComponent(query.name);
  });
})();
