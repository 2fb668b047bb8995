// The query page: YASGUI on this server's /sparql endpoint, with the named
// queries of queries/*.rq to pick from. No request leaves this origin.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("ipgraph-config").textContent);
  const endpoint = new URL(config.endpoint, window.location.href).href;
  const byName = new Map(config.queries.map((q) => [q.name, q]));
  // A query with parameters shows a warning at its top when opened in the
  // editor: left free, a parameter matches everything.
  const textOf = (query) =>
    query.params.length
      ? "# Parameters: " + query.params.join(", ") + ". Bind them (e.g. VALUES ?" + query.params[0] +
        " { <IRI> }) or use the form at " + query.form + ": a free parameter matches everything.\n" + query.text
      : query.text;
  const wanted = decodeURIComponent(window.location.hash.slice(1));
  const first = byName.get(wanted) || config.queries[0];
  // Yasqe's default autocompleters include "property" and "class", which ask
  // the Linked Open Vocabularies service (lov.linkeddata.es) on every
  // keystroke. Yasgui merges its options into these defaults array by array
  // index, so "autocompleters: [...]" in the options cannot remove them: the
  // defaults themselves are set here. What is left runs in the page: the
  // query's own variables, and prefixes from Yasqe's built-in list (never
  // prefix.cc: prefixCcApi stays unset).
  const local = ["variables", "prefixes"];
  Yasgui.Yasqe.defaults.autocompleters.splice(0, Infinity, ...local);
  Yasgui.Yasqe.defaults.prefixCcApi = null;
  Yasgui.defaults.yasqe.autocompleters = local.slice();
  const yasgui = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint: endpoint, method: "POST" },
    copyEndpointOnNewTab: true,
    persistenceId: null,
    populateFromUrl: false,
    endpointCatalogueOptions: { getData: () => [{ endpoint: endpoint }] },
    yasqe: { value: first ? textOf(first) : "SELECT * WHERE { ?s ?p ?o } LIMIT 10", autocompleters: local.slice() },
  });
  // Whatever a merge kept, only the local completers stay enabled.
  for (const name of Object.keys(Yasgui.Yasqe.Autocompleters)) {
    if (!local.includes(name)) yasgui.getTab().getYasqe().disableCompleter(name);
  }
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
    if (query.params.length) {
      window.location.assign(query.form);
      return;
    }
    const tab = yasgui.getTab();
    tab.setEndpoint(endpoint);
    tab.setQuery(query.text);
    window.location.hash = encodeURIComponent(query.name);
  });
})();
