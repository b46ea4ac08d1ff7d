// The pages' one script. Every value from the store reaches the page through
// textContent or an attribute set on an element made here, never as markup: a
// memory's text is data, whatever it holds.
"use strict";

(function () {
  const page = document.body.dataset.page;

  // --- helpers ------------------------------------------------------------------

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function showError(message) {
    const box = document.getElementById("error");
    box.textContent = message;
    box.hidden = false;
  }

  function hideError() {
    document.getElementById("error").hidden = true;
  }

  async function api(path, options) {
    const response = await fetch("api/" + path, Object.assign({ credentials: "same-origin" }, options || {}));
    let body = null;
    try {
      body = await response.json();
    } catch (e) {
      body = null;
    }
    if (response.status === 401 && page !== "login") {
      window.location.assign("login");
      throw new Error("sign in first");
    }
    if (!response.ok) {
      const error = body && body.error ? body.error : { code: "internal", reason: response.statusText };
      const failure = new Error(error.code + ": " + error.reason);
      failure.code = error.code;
      throw failure;
    }
    return body;
  }

  function post(path, data) {
    return api(path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(data),
    });
  }

  function memoryLink(id, title) {
    const link = el("a", title, "text");
    link.href = "memory?id=" + encodeURIComponent(id);
    return link;
  }

  const TYPE_COLOURS = {
    task: "#4e79a7", code_pattern: "#59a14f", problem: "#e15759", solution: "#76b7b2",
    project: "#9c755f", technology: "#af7aa1", error: "#ff9da7", fix: "#2f9e44",
    command: "#bab0ac", file_context: "#8cd17d", workflow: "#f28e2b", general: "#79706e",
    conversation: "#edc948",
  };

  function colourOf(type) {
    return TYPE_COLOURS[type] || "#888888";
  }

  function typeBadge(type) {
    const badge = el("span", type, "type");
    badge.style.backgroundColor = colourOf(type);
    return badge;
  }

  function bars(list, counts) {
    clear(list);
    const entries = Object.entries(counts).sort((a, b) => b[1] - a[1]);
    const most = entries.length ? entries[0][1] : 0;
    for (const [name, count] of entries) {
      const item = el("li");
      item.appendChild(el("span", name, "bar-label"));
      const bar = el("span", null, "bar");
      bar.style.width = (most ? Math.max(1, Math.round((count / most) * 60)) : 0) + "%";
      bar.style.backgroundColor = colourOf(name);
      item.appendChild(bar);
      item.appendChild(el("span", count.toLocaleString(), "bar-count"));
      list.appendChild(item);
    }
  }

  // --- who is signed in --------------------------------------------------------------

  let session = null;
  let sessionReady = null;

  async function loadSession() {
    session = await api("session");
    const who = document.getElementById("who");
    const scopes = session.scopes.join(", ");
    const spaces = session.namespaces ? " in " + session.namespaces.join(", ") : "";
    who.textContent = session.principal + " (" + scopes + ")" + spaces;
    const out = document.getElementById("sign-out");
    out.hidden = !session.authenticated;
    out.addEventListener("click", async () => {
      await api("session", { method: "DELETE" });
      window.location.assign("login");
    });
    return session;
  }

  // --- search ----------------------------------------------------------------------------

  const PAGE_SIZE = 20;

  async function search(query, offset) {
    hideError();
    const summary = document.getElementById("search-summary");
    const list = document.getElementById("results");
    const params = new URLSearchParams({ q: query, limit: String(PAGE_SIZE), offset: String(offset) });
    let found;
    try {
      found = await api("search?" + params.toString());
    } catch (e) {
      showError(e.message);
      return;
    }
    clear(list);
    list.start = offset + 1;
    for (const result of found.results) {
      const item = el("li", null, "result");
      item.dataset.id = result.memory.id;
      const head = el("p");
      head.appendChild(typeBadge(result.memory.type));
      head.appendChild(document.createTextNode(" "));
      head.appendChild(memoryLink(result.memory.id, result.memory.title));
      item.appendChild(head);
      item.appendChild(el("p", result.memory.preview, "text preview"));
      item.appendChild(el("p", result.reason, "muted"));
      list.appendChild(item);
    }
    performance.mark("results-shown");
    summary.textContent = found.results.length
      ? "Results " + (offset + 1) + "–" + (offset + found.results.length) + " for “" + query + "”"
      : "Nothing matches “" + query + "”.";
    const prev = document.getElementById("prev");
    const next = document.getElementById("next");
    prev.hidden = offset === 0;
    next.hidden = !found.page.has_more;
    prev.onclick = () => go(query, Math.max(0, offset - PAGE_SIZE));
    next.onclick = () => go(query, found.page.next_offset);
  }

  function go(query, offset) {
    const params = new URLSearchParams({ q: query });
    if (offset) params.set("offset", String(offset));
    history.pushState(null, "", "?" + params.toString());
    search(query, offset);
  }

  function searchPage() {
    const form = document.getElementById("search-form");
    const input = document.getElementById("q");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (input.value.trim()) go(input.value, 0);
    });
    const params = new URLSearchParams(window.location.search);
    const query = params.get("q");
    if (query) {
      input.value = query;
      search(query, parseInt(params.get("offset") || "0", 10) || 0);
    }
  }

  // --- a memory and its graph ----------------------------------------------------------

  function field(list, name, value) {
    if (value === null || value === undefined || value === "") return;
    list.appendChild(el("dt", name));
    list.appendChild(el("dd", value, "text"));
  }

  async function memoryPage() {
    const id = new URLSearchParams(window.location.search).get("id");
    if (!id) {
      showError("no memory id given; open a memory from a search");
      return;
    }
    let detail;
    try {
      detail = await api("memories/" + encodeURIComponent(id));
    } catch (e) {
      showError(e.message);
      return;
    }
    const m = detail.memory;
    document.title = "memorygraph — memory";
    document.getElementById("memory").hidden = false;
    const type = document.getElementById("m-type");
    type.textContent = m.type;
    type.style.backgroundColor = colourOf(m.type);
    document.getElementById("m-id").textContent = m.id;
    document.getElementById("m-title").textContent = m.title;
    document.getElementById("m-summary").textContent = m.summary || "";
    const content = document.getElementById("m-content");
    content.textContent = m.content;
    content.hidden = m.content === "";
    const more = document.getElementById("m-more");
    let offset = m.content_offset + m.content.length;
    more.hidden = !m.content_truncated;
    more.addEventListener("click", async () => {
      const next = await api("memories/" + encodeURIComponent(id) + "?content_offset=" + offset);
      content.appendChild(document.createTextNode(next.memory.content));
      offset = next.memory.content_offset + next.memory.content.length;
      more.hidden = !next.memory.content_truncated;
    });
    const fields = document.getElementById("m-fields");
    field(fields, "Importance", m.importance);
    field(fields, "Confidence", m.confidence);
    field(fields, "Effectiveness", m.effectiveness);
    field(fields, "Used", m.usage_count);
    field(fields, "Created", m.created_at);
    field(fields, "Updated", m.updated_at);
    field(fields, "Last accessed", m.last_accessed);
    field(fields, "Content length", m.content_length);
    field(fields, "Version", m.version);
    const tags = document.getElementById("m-tags");
    for (const tag of m.tags) tags.appendChild(el("li", tag, "tag text"));
    document.getElementById("m-context").textContent = m.context ? JSON.stringify(m.context, null, 2) : "";
    const rows = document.getElementById("m-relationships");
    function addRelationship(r) {
      const row = el("tr");
      if (!r.valid) row.className = "invalid";
      row.appendChild(el("td", r.type));
      const from = el("td");
      from.appendChild(r.from_id === m.id ? el("span", "this memory") : memoryLink(r.from_id, r.from_id));
      row.appendChild(from);
      const to = el("td");
      to.appendChild(r.to_id === m.id ? el("span", "this memory") : memoryLink(r.to_id, r.to_id));
      row.appendChild(to);
      row.appendChild(el("td", r.valid ? "valid" : "invalidated" + (r.invalidated_by ? " by " + r.invalidated_by : "")));
      row.appendChild(el("td", r.created_at));
      row.appendChild(el("td", r.valid_until || ""));
      rows.appendChild(row);
    }
    detail.relationships.forEach(addRelationship);
    const moreRelationships = document.getElementById("m-relationships-more");
    let next = 0;
    moreRelationships.addEventListener("click", async () => {
      // The whole list, a page at a time (the first ones are shown again in order).
      if (next === 0) clear(rows);
      const page = await api("memories/" + encodeURIComponent(id) + "/related?offset=" + next);
      page.results.forEach((found) => addRelationship(found.relationship));
      next = page.page.next_offset || 0;
      moreRelationships.hidden = !page.page.has_more;
    });
    moreRelationships.hidden = !detail.relationships_more;
    performance.mark("memory-shown");
    const depth = document.getElementById("depth");
    depth.addEventListener("change", () => drawGraph(id, parseInt(depth.value, 10)));
    drawGraph(id, parseInt(depth.value, 10));
  }

  let graph = null;
  let graphLibrary = null;

  // A canvas label has no direction isolation: bidirectional controls are left out of
  // it, so a title cannot reorder what is drawn around it.
  function label(title) {
    const plain = title.replace(/[\u202a-\u202e\u2066-\u2069]/g, "");
    return plain.length > 40 ? plain.slice(0, 39) + "…" : plain;
  }

  // The graph library (435 kB) loads once the memory itself is shown, not before.
  function loadGraphLibrary() {
    if (!graphLibrary) {
      graphLibrary = new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = "static/vendor/cytoscape.min.js";
        script.onload = resolve;
        script.onerror = () => reject(new Error("the graph library could not be loaded"));
        document.head.appendChild(script);
      });
    }
    return graphLibrary;
  }

  async function drawGraph(id, depth) {
    const count = document.getElementById("graph-count");
    count.textContent = "loading…";
    delete count.dataset.nodes;
    let view;
    try {
      const loaded = loadGraphLibrary();
      view = await api("memories/" + encodeURIComponent(id) + "/neighbourhood?depth=" + depth);
      await loaded;
    } catch (e) {
      showError(e.message);
      return;
    }
    const elements = [];
    const types = new Set();
    for (const node of view.nodes) {
      types.add(node.memory.type);
      elements.push({
        group: "nodes",
        data: {
          id: node.memory.id,
          label: label(node.memory.title),
          colour: colourOf(node.memory.type),
          centre: node.depth === 0 ? "yes" : "no",
        },
      });
    }
    const shown = new Set(view.nodes.map((n) => n.memory.id));
    for (const edge of view.edges) {
      if (!shown.has(edge.from_id) || !shown.has(edge.to_id)) continue;
      elements.push({
        group: "edges",
        data: { id: "r:" + edge.id, source: edge.from_id, target: edge.to_id, label: edge.type, valid: edge.valid ? "yes" : "no" },
      });
    }
    if (graph) graph.destroy();
    graph = window.cytoscape({
      container: document.getElementById("graph"),
      elements: elements,
      layout: { name: "breadthfirst", roots: [id], directed: false, padding: 20, spacingFactor: 1.1 },
      style: [
        { selector: "node", style: { "background-color": "data(colour)", label: "data(label)", "font-size": 10, "text-wrap": "ellipsis", "text-max-width": 120, width: 22, height: 22 } },
        { selector: "node[centre = 'yes']", style: { "border-width": 3, "border-color": "#222", width: 30, height: 30 } },
        { selector: "edge", style: { width: 1.5, "curve-style": "bezier", "target-arrow-shape": "triangle", label: "data(label)", "font-size": 7, "line-color": "#999", "target-arrow-color": "#999" } },
        { selector: "edge[valid = 'no']", style: { "line-style": "dashed", "line-color": "#ccc" } },
      ],
      maxZoom: 1.5,
      wheelSensitivity: 0.3,
    });
    // Exposed for people poking at the page from the browser's console, and for tests.
    window.memorygraphGraph = graph;
    graph.on("tap", "node", (event) => {
      const target = event.target.id();
      if (target !== id) window.location.assign("memory?id=" + encodeURIComponent(target));
    });
    const edges = graph.edges().length;
    count.textContent =
      graph.nodes().length + " memories, " + edges + " relationships" + (view.truncated ? " (cut short: the neighbourhood is larger)" : "");
    count.dataset.nodes = String(graph.nodes().length);
    // Marks for the browser's performance tools (and the latency benchmark).
    performance.mark("graph-drawn");
    const legend = document.getElementById("legend");
    clear(legend);
    for (const type of Array.from(types).sort()) {
      const item = el("li");
      item.appendChild(typeBadge(type));
      legend.appendChild(item);
    }
    const list = document.getElementById("graph-nodes");
    clear(list);
    for (const node of view.nodes) {
      if (node.depth === 0) continue;
      const item = el("li");
      item.appendChild(el("span", node.depth + " hop" + (node.depth > 1 ? "s" : "") + " · ", "muted"));
      item.appendChild(memoryLink(node.memory.id, node.memory.title));
      list.appendChild(item);
    }
  }

  // --- activity and statistics ---------------------------------------------------------

  async function activityPage() {
    const days = document.getElementById("days");
    async function load() {
      hideError();
      let found;
      try {
        found = await api("activity?days=" + days.value + "&limit=50");
      } catch (e) {
        showError(e.message);
        return;
      }
      document.getElementById("activity-summary").textContent =
        found.total + (found.more ? "+" : "") + " memories changed since " + found.since;
      bars(document.getElementById("by-type"), found.by_type);
      const timeline = document.getElementById("timeline");
      clear(timeline);
      for (const m of found.memories) {
        const item = el("li");
        item.appendChild(el("time", m.updated_at, "muted mono"));
        item.appendChild(document.createTextNode(" "));
        item.appendChild(typeBadge(m.type));
        item.appendChild(document.createTextNode(" "));
        item.appendChild(memoryLink(m.id, m.title));
        timeline.appendChild(item);
      }
      const unresolved = document.getElementById("unresolved");
      clear(unresolved);
      for (const m of found.unresolved_problems) {
        const item = el("li");
        item.appendChild(memoryLink(m.id, m.title));
        unresolved.appendChild(item);
      }
    }
    days.addEventListener("change", load);
    load();
  }

  async function statsPage() {
    let found;
    try {
      found = await api("stats");
    } catch (e) {
      showError(e.message);
      return;
    }
    document.getElementById("stats-summary").textContent =
      found.memories.toLocaleString() + " memories and " + found.relationships.toLocaleString() +
      " relationships in " + found.backend + " " + found.engine_version;
    bars(document.getElementById("memories-by-type"), found.memories_by_type);
    bars(document.getElementById("relationships-by-type"), found.relationships_by_type);
  }

  // --- migrations ---------------------------------------------------------------------------

  // The states of a migration whose journal still holds work to undo or finish.
  const ROLLBACK_STATES = new Set(["failed", "importing", "imported"]);

  async function migrationsPage() {
    const rows = document.getElementById("migrations");
    const dialog = document.getElementById("confirm-rollback");
    let pending = null;
    document.getElementById("confirm-no").addEventListener("click", () => dialog.close());
    document.getElementById("confirm-yes").addEventListener("click", async () => {
      dialog.close();
      if (!pending) return;
      const { id, action } = pending;
      pending = null;
      try {
        await post("migrations/" + encodeURIComponent(id) + "/" + action, { confirm: true });
      } catch (e) {
        showError(e.message);
      }
      load();
    });
    const ACTIONS = {
      rollback: ["Roll back", (m) => "This deletes what it wrote into " + m.target + " and puts back what it replaced."],
      resume: ["Resume", (m) => "This writes the rest of it into " + m.target + ", without duplicating anything, and verifies it."],
    };
    function offer(cell, m, action) {
      const [name, effect] = ACTIONS[action];
      const button = el("button", name, action);
      button.type = "button";
      button.addEventListener("click", () => {
        pending = { id: m.migration_id, action: action };
        document.getElementById("confirm-action").textContent = name;
        document.getElementById("confirm-id").textContent = m.migration_id;
        document.getElementById("confirm-effect").textContent = effect(m);
        document.getElementById("confirm-yes").textContent = name;
        dialog.showModal();
      });
      cell.appendChild(button);
    }
    try {
      await sessionReady;
    } catch (e) {
      return;
    }
    const mayRollBack = session.scopes.indexOf("admin") >= 0 && session.namespaces === null;
    async function load() {
      let found;
      try {
        found = await api("migrations");
      } catch (e) {
        showError(e.message);
        return;
      }
      clear(rows);
      document.getElementById("migrations-empty").hidden = found.migrations.length > 0;
      for (const m of found.migrations) {
        const row = el("tr");
        row.dataset.id = m.migration_id;
        row.dataset.state = m.state;
        row.appendChild(el("td", m.migration_id, "mono"));
        row.appendChild(el("td", m.state, "state"));
        row.appendChild(el("td", m.source));
        row.appendChild(el("td", m.target));
        row.appendChild(el("td", m.started_at));
        const counts = el("td");
        const list = el("ul", null, "counts");
        for (const [name, value] of Object.entries(m.counts || {})) {
          const item = el("li", name.replace(/_/g, " ") + ": " + value);
          item.dataset.name = name;
          item.dataset.value = String(value);
          list.appendChild(item);
        }
        counts.appendChild(list);
        if (m.detail) counts.appendChild(el("p", m.detail, "muted"));
        row.appendChild(counts);
        row.appendChild(el("td", m.verification || ""));
        const action = el("td");
        if (mayRollBack && ROLLBACK_STATES.has(m.state)) {
          offer(action, m, "rollback");
          offer(action, m, "resume");
        }
        row.appendChild(action);
        rows.appendChild(row);
      }
    }
    load();
  }

  // --- sign in --------------------------------------------------------------------------------

  function loginPage() {
    document.getElementById("login-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      hideError();
      try {
        await post("session", { token: document.getElementById("token").value });
      } catch (e) {
        showError(e.message);
        return;
      }
      window.location.assign("./");
    });
  }

  async function start() {
    if (page === "login") {
      loginPage();
      return;
    }
    // Who is signed in is asked alongside the page's own request, not before it.
    sessionReady = loadSession();
    sessionReady.catch((e) => showError(e.message));
    const pages = { search: searchPage, memory: memoryPage, activity: activityPage, stats: statsPage, migrations: migrationsPage };
    await Promise.all([pages[page](), sessionReady.catch(() => null)]);
    document.body.dataset.ready = "yes";
  }

  start();
})();
