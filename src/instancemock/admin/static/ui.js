// The instancemock dashboard: plain JavaScript over the admin API (openapi/admin.yaml), no build step.
// Per API and sandbox: browse and open instances, watch the journal (polled every second), add and
// remove faults and stubs, reset the sandbox, step or toggle the simulation. Everything shown comes
// from the server as text (textContent), never as HTML.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("ui-config").textContent);
  const admin = "/__admin";
  const state = { api: config.apis.length ? config.apis[0].name : "", sandbox: "default", query: "", token: sessionStorage.getItem("instancemock-admin-token") || "" };
  const SIMULATION_SPEED_ON = 60;

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (value !== null && value !== undefined) node.setAttribute(key, value);
    }
    for (const child of children.flat()) node.append(child instanceof Node ? child : String(child ?? ""));
    return node;
  }

  async function call(method, path, { params, body } = {}) {
    const url = new URL(admin + path, location.origin);
    for (const [key, value] of Object.entries(params || {})) if (value !== null && value !== undefined && value !== "") url.searchParams.set(key, value);
    const headers = body === undefined ? {} : { "Content-Type": "application/json" };
    if (state.token) headers.Authorization = "Bearer " + state.token;
    const response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await response.json().catch(() => ({}));
    if (response.status === 401) showTokenInput();
    if (!response.ok) {
      const lines = [data.error || response.statusText, ...(data.violations || []).map((v) => `${v.field}: ${v.message}`)];
      throw new Error(lines.join("\n"));
    }
    return data;
  }

  function showTokenInput() {
    const box = document.getElementById("token");
    if (box) box.hidden = false;
  }

  function report(where, error) {
    const target = document.getElementById(where);
    if (target) target.textContent = error ? String(error.message || error) : "";
  }

  // --- layout ---------------------------------------------------------------------------------

  function render() {
    const app = document.getElementById("app");
    app.replaceChildren(
      el("div", { class: "controls" },
        el("label", {}, "API", el("select", { id: "api", onchange: (e) => { state.api = e.target.value; refreshAll(); } },
          config.apis.map((api) => el("option", { value: api.name }, `${api.name}: ${api.title}`)))),
        el("label", {}, "sandbox", el("input", { id: "sandbox", list: "sandboxes", value: state.sandbox, onchange: (e) => { state.sandbox = e.target.value.trim() || "default"; refreshAll(); } })),
        el("datalist", { id: "sandboxes" }),
        el("button", { id: "reset", type: "button", onclick: resetSandbox }, "reset sandbox"),
        el("span", { id: "simulation", class: "muted" }, "simulation ..."),
        el("button", { id: "sim-toggle", type: "button", onclick: toggleSimulation }, "start simulation"),
        el("button", { id: "sim-step", type: "button", onclick: stepSimulation }, "step"),
        el("label", { id: "token", hidden: "" }, "admin token", el("input", { type: "password", onchange: (e) => { state.token = e.target.value; sessionStorage.setItem("instancemock-admin-token", state.token); refreshAll(); } })),
        el("span", { id: "controls-error", class: "error" }),
      ),
      el("div", { class: "grid" },
        el("section", { class: "panel", id: "instances" },
          el("h2", {}, "Instances ", el("span", { id: "instance-count", class: "muted" })),
          el("input", { id: "search", type: "search", placeholder: "search (words in any field)", oninput: (e) => { state.query = e.target.value; refreshInstances(); } }),
          el("div", { class: "scroll" }, el("table", {}, el("thead", {}, el("tr", {}, ["id", "title", "status", "position"].map((h) => el("th", {}, h)))), el("tbody"))),
          el("div", { id: "instance-detail" }),
          el("div", { id: "instances-error", class: "error" })),
        el("section", { class: "panel", id: "journal" },
          el("h2", {}, "Journal ", el("span", { class: "muted" }, "(live)")),
          el("label", { class: "inline" }, el("input", { id: "journal-all", type: "checkbox", onchange: () => refreshJournal() }), "every API and sandbox"),
          el("div", { class: "scroll" }, el("table", {}, el("thead", {}, el("tr", {}, ["#", "time", "method", "path", "status", "sandbox", ""].map((h) => el("th", {}, h)))), el("tbody"))),
          el("div", { id: "journal-detail" })),
        el("section", { class: "panel", id: "faults" },
          el("h2", {}, "Faults"),
          el("ul", { class: "rules" }),
          el("form", { id: "fault-form", onsubmit: addFault },
            el("label", {}, "method", methodSelect("fault-method")),
            el("label", {}, "path (glob)", el("input", { id: "fault-path", value: "*", required: "" })),
            el("label", {}, "status", el("input", { id: "fault-status", type: "number", min: "400", max: "599", value: "503" })),
            el("label", {}, "times", el("input", { id: "fault-times", type: "number", min: "1", placeholder: "always" })),
            el("button", { id: "fault-add", class: "primary", type: "submit" }, "add fault")),
          el("div", { id: "fault-error", class: "error" })),
        el("section", { class: "panel", id: "stubs" },
          el("h2", {}, "Stubs ", el("span", { class: "muted" }, "(checked against the spec)")),
          el("ul", { class: "rules" }),
          el("form", { id: "stub-form", onsubmit: addStub },
            el("label", {}, "method", methodSelect("stub-method")),
            el("label", {}, "path (glob)", el("input", { id: "stub-path", required: "" })),
            el("label", {}, "status", el("input", { id: "stub-status", type: "number", min: "100", max: "599", value: "200" })),
            el("label", { style: "flex-basis:100%" }, "body (JSON)", el("textarea", { id: "stub-body" })),
            el("button", { id: "stub-add", class: "primary", type: "submit" }, "add stub")),
          el("div", { id: "stub-error", class: "error" })),
      ),
    );
  }

  function methodSelect(id) {
    return el("select", { id }, ["", "GET", "POST", "PUT", "PATCH", "DELETE"].map((m) => el("option", { value: m }, m || "any")));
  }

  // --- instances ------------------------------------------------------------------------------

  let instancesAsked = 0;
  async function refreshInstances() {
    const asked = ++instancesAsked;
    try {
      const data = await call("GET", `/worlds/${encodeURIComponent(state.api)}/instances`, { params: { sandbox: state.sandbox, q: state.query, limit: 100 } });
      if (asked !== instancesAsked) return; // a newer search is on its way
      document.getElementById("instance-count").textContent = `${data.total} in ${data.sandbox}`;
      document.getElementById("sandboxes").replaceChildren(...data.sandboxes.map((name) => el("option", { value: name })));
      const rows = document.querySelector("#instances tbody");
      // What the rows answer, so a reader (a person's script, the browser tests) can tell the answer
      // to the last search from one to a search typed over since.
      rows.dataset.query = state.query;
      rows.dataset.sandbox = data.sandbox;
      rows.replaceChildren(...data.instances.map((item) =>
        el("tr", { "data-key": item.key, onclick: () => openInstance(item.key) },
          el("td", {}, item.id), el("td", {}, item.title || ""), el("td", {}, item.status || ""), el("td", {}, item.position || ""))));
      report("instances-error");
    } catch (error) {
      report("instances-error", error);
    }
  }

  async function openInstance(key) {
    try {
      const data = await call("GET", `/worlds/${encodeURIComponent(state.api)}/instance`, { params: { sandbox: state.sandbox, key } });
      const summary = data.summary;
      document.getElementById("instance-detail").replaceChildren(
        el("h3", {}, summary.id),
        el("p", { class: "position" }, `status: ${summary.status || "-"}; process position: ${summary.position || "-"}; version ${data.version}`),
        el("pre", {}, JSON.stringify(data.document, null, 2)));
    } catch (error) {
      report("instances-error", error);
    }
  }

  // --- journal --------------------------------------------------------------------------------

  let journalAsked = 0;
  let journalShown = "";
  async function refreshJournal() {
    const asked = ++journalAsked;
    const all = document.getElementById("journal-all")?.checked;
    const params = { limit: 50, api: all ? null : state.api, sandbox: all ? null : state.sandbox };
    try {
      const data = await call("GET", "/requests", { params });
      if (asked !== journalAsked) return; // a newer look is on its way
      // Rows are redrawn only when the list changed, so a row being clicked is not swapped out.
      const shown = JSON.stringify([params, data.requests.map((entry) => entry.id)]);
      if (shown === journalShown) return;
      journalShown = shown;
      document.querySelector("#journal tbody").replaceChildren(...data.requests.map((entry) =>
        el("tr", { "data-id": entry.id, onclick: () => showEntry(entry) },
          el("td", {}, entry.id), el("td", {}, entry.time.slice(11, 19)), el("td", {}, entry.method), el("td", {}, entry.path),
          el("td", { class: "status-" + String(entry.status || 0)[0] }, entry.status ?? "none"), el("td", {}, entry.sandbox),
          el("td", { class: "muted" }, entry.stub ? `stub ${entry.stub.id}` : entry.fault ? `fault ${entry.fault.rule || entry.fault.source}` : ""))));
    } catch (error) {
      report("controls-error", error);
    }
  }

  function showEntry(entry) {
    const body = (b) => (b ? ("value" in b ? JSON.stringify(b.value, null, 2) : `${b.kind}, ${b.size} bytes`) : "(none)");
    document.getElementById("journal-detail").replaceChildren(
      el("h3", {}, `#${entry.id} ${entry.method} ${entry.path} -> ${entry.status ?? "none"}`),
      el("p", { class: "muted" }, `operation ${entry.operation || "-"}, ${entry.durationMs} ms`),
      el("h4", {}, "request body"), el("pre", {}, body(entry.requestBody)),
      el("h4", {}, "response body"), el("pre", {}, body(entry.responseBody)));
  }

  // --- faults and stubs -----------------------------------------------------------------------

  async function refreshRules() {
    try {
      const [faults, stubs] = await Promise.all([call("GET", "/faults"), call("GET", "/stubs")]);
      document.querySelector("#faults ul").replaceChildren(...faults.rules.map((rule) =>
        el("li", { "data-id": rule.id },
          el("span", {}, `${rule.id}: ${rule.api || "any API"} ${rule.method || "any"} ${rule.path} in ${rule.sandbox || "any sandbox"} -> ${rule.status ?? rule.fault ?? "delay"}` + (rule.remaining === null ? "" : ` (${rule.remaining} left)`)),
          el("button", { type: "button", onclick: () => remove("/faults/" + encodeURIComponent(rule.id)) }, "remove"))));
      document.querySelector("#stubs ul").replaceChildren(...stubs.stubs.map((stub) =>
        el("li", { "data-id": stub.id },
          el("span", {}, `${stub.id}: ${stub.operations.map((o) => o.operation).join(", ")} -> ${stub.response.status}, answered ${stub.answered}` + (stub.offContract ? " (off contract)" : "")),
          el("button", { type: "button", onclick: () => remove("/stubs/" + encodeURIComponent(stub.id)) }, "remove"))));
    } catch (error) {
      report("controls-error", error);
    }
  }

  async function remove(path) {
    try {
      await call("DELETE", path);
    } catch (error) {
      report("controls-error", error);
    }
    refreshRules();
  }

  function value(id) {
    return document.getElementById(id).value.trim();
  }

  async function addFault(event) {
    event.preventDefault();
    const rule = { api: state.api, sandbox: state.sandbox, path: value("fault-path") || "*", status: Number(value("fault-status")) };
    if (value("fault-method")) rule.method = value("fault-method");
    if (value("fault-times")) rule.times = Number(value("fault-times"));
    try {
      await call("POST", "/faults", { body: rule });
      report("fault-error");
    } catch (error) {
      report("fault-error", error);
    }
    refreshRules();
  }

  async function addStub(event) {
    event.preventDefault();
    const request = { api: state.api, sandbox: state.sandbox, path: value("stub-path") };
    if (value("stub-method")) request.method = value("stub-method");
    const response = { status: Number(value("stub-status")) };
    try {
      if (value("stub-body")) response.body = JSON.parse(value("stub-body"));
      await call("POST", "/stubs", { body: { request, response } });
      report("stub-error");
    } catch (error) {
      report("stub-error", error);
    }
    refreshRules();
  }

  // --- sandbox and simulation -----------------------------------------------------------------

  async function resetSandbox() {
    try {
      await call("POST", "/reset", { params: { sandbox: state.sandbox } });
    } catch (error) {
      report("controls-error", error);
    }
    refreshInstances();
  }

  let speed = 0;
  async function refreshSimulation() {
    try {
      const data = await call("GET", "/simulate");
      speed = data.speed;
      document.getElementById("simulation").textContent = data.running ? `simulation at speed ${data.speed}` : "simulation off";
      document.getElementById("sim-toggle").textContent = data.running ? "stop simulation" : "start simulation";
    } catch (error) {
      report("controls-error", error);
    }
  }

  async function toggleSimulation() {
    try {
      await call("PUT", "/simulate", { body: { speed: speed > 0 ? 0 : SIMULATION_SPEED_ON } });
    } catch (error) {
      report("controls-error", error);
    }
    refreshSimulation();
  }

  async function stepSimulation() {
    try {
      await call("POST", "/simulate/step", { params: { sandbox: state.sandbox, api: state.api } });
    } catch (error) {
      report("controls-error", error);
    }
    refreshInstances();
  }

  function refreshAll() {
    refreshInstances();
    refreshJournal();
    refreshRules();
    refreshSimulation();
  }

  render();
  refreshAll();
  setInterval(refreshJournal, 1000);
  setInterval(refreshSimulation, 5000);
})();
