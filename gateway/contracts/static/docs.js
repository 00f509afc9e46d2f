// Renders the gateway's OpenAPI documents (/openapi/{name}.json) as a reference page with
// examples and a try-it-out form per operation. Plain DOM modules, no dependencies.
import { codeBlock, el, json, notes, prose, renderSchema, resolve, typeLabel } from "./dom.js";
import { resetPanels, setupCredentials, tryPanel } from "./tryit.js";

const METHODS = ["get", "put", "post", "patch", "delete", "head", "options", "trace"];

const app = document.getElementById("app");
const select = document.getElementById("document-select");
const rawLink = document.getElementById("document-link");
const names = (app.dataset.documents || "").split(/\s+/).filter(Boolean);

function securityOf(doc, op) {
  const requirements = op.security !== undefined ? op.security : doc.security || [];
  const scopes = [];
  const schemes = [];
  for (const requirement of requirements) {
    for (const [scheme, list] of Object.entries(requirement)) {
      schemes.push(scheme);
      scopes.push(...list);
    }
  }
  return { scopes: [...new Set(scopes)], schemes: [...new Set(schemes)] };
}

function renderHeaders(doc, headers) {
  const entries = Object.entries(headers || {});
  if (!entries.length) return null;
  return el("ul", { className: "headers" }, entries.map(([name, raw]) => {
    const [header] = resolve(doc, raw);
    return el("li", {}, el("code", {}, name),
      header.required ? el("span", { className: "required" }, "always") : null,
      header.description ? " " + header.description.replace(/`/g, "") : null);
  }));
}

function renderParameters(doc, params) {
  const resolved = (params || []).map((p) => resolve(doc, p)[0]);
  if (!resolved.length) return null;
  return el("section", { className: "parameters" }, el("h4", {}, "Parameters"),
    el("table", { className: "properties" },
      el("thead", {}, el("tr", {}, el("th", {}, "Name"), el("th", {}, "In"),
        el("th", {}, "Type"), el("th", {}, "Notes"))),
      el("tbody", {}, resolved.map((p) => el("tr", { "data-parameter": p.name },
        el("td", { className: "field" }, el("code", {}, p.name),
          p.required ? el("span", { className: "required" }, "required") : null),
        el("td", {}, p.in),
        el("td", { className: "type" }, el("code", {}, typeLabel(doc, p.schema || {}))),
        notes(doc, p.schema || {}, p.description))))));
}

function example(content, kind) {
  if (!content || content.example === undefined) return null;
  return el("details", { className: "example", open: kind !== "problem" || undefined },
    el("summary", {}, "Example"), codeBlock("example-" + kind, json(content.example)));
}

function renderBody(doc, requestBody) {
  if (!requestBody) return null;
  const [body] = resolve(doc, requestBody);
  return el("section", { className: "request-body" },
    el("h4", {}, "Request body", body.required ? " (required)" : " (optional)"),
    Object.entries(body.content || {}).map(([media, content]) => el("div", { className: "media" },
      el("p", { className: "media-type" }, el("code", {}, media)),
      example(content, "request"),
      renderSchema(doc, content.schema || {}, new Set()))));
}

function renderProblems(doc, responses, problems) {
  return el("section", { className: "problems" },
    el("h4", {}, "Problem responses ", el("code", {}, "application/problem+json")),
    el("table", { className: "properties" },
      el("thead", {}, el("tr", {}, el("th", {}, "Status"), el("th", {}, "When"),
        el("th", {}, "Headers"))),
      el("tbody", {}, problems.map((status) => {
        const [response] = resolve(doc, responses[status]);
        const content = Object.values(response.content || {})[0];
        const sample = content && content.example;
        return el("tr", { "data-status": status },
          el("td", {}, el("span", { className: "status problem" }, status)),
          el("td", {}, ...prose(response.description || ""),
            sample && sample.type ? el("p", { className: "hint" }, el("code", {}, sample.type)) : null,
            example(content, "problem")),
          el("td", {}, Object.keys(response.headers || {}).map((h) =>
            el("code", { className: "header" }, h))));
      }))));
}

function renderResponses(doc, responses) {
  const statuses = Object.keys(responses || {}).sort();
  const success = statuses.filter((s) => /^[123]/.test(s));
  const problems = statuses.filter((s) => !/^[123]/.test(s));
  const out = [];
  for (const status of success) {
    const [response] = resolve(doc, responses[status]);
    out.push(el("section", { className: "response", "data-status": status },
      el("h4", {}, "Response ", el("span", { className: "status ok" }, status), " ",
        response.description || ""),
      Object.entries(response.content || {}).map(([media, content]) => el("div", { className: "media" },
        el("p", { className: "media-type" }, el("code", {}, media)),
        example(content, "response"),
        renderSchema(doc, content.schema || {}, new Set()))),
      renderHeaders(doc, response.headers)));
  }
  if (problems.length) out.push(renderProblems(doc, responses, problems));
  return out;
}

function renderOperation(doc, path, method, op) {
  const security = securityOf(doc, op);
  const secured = security.schemes.length > 0;
  const access = secured
    ? security.scopes.map((scope) => el("span", { className: "scope", title: "required scope" }, scope))
    : [el("span", { className: "scope public" }, "public")];
  const summary = el("summary", { className: "op-head" },
    el("span", { className: "method m-" + method }, method.toUpperCase()),
    el("code", { className: "path" }, path),
    el("span", { className: "summary" }, op.summary || ""),
    el("span", { className: "access" }, access));
  const body = el("div", { className: "op-body" },
    el("p", { className: "op-id" }, "operationId ", el("code", {}, op.operationId || "")),
    op.deprecated ? el("p", { className: "deprecated" }, "Deprecated") : null,
    op.description ? prose(op.description) : null,
    secured
      ? el("p", { className: "hint" }, "Credentials: ", security.schemes.join(" or "),
        security.scopes.length ? " with scope " + security.scopes.join(", ") : "")
      : el("p", { className: "hint" }, "No credentials needed."),
    tryPanel(doc, path, method, op, secured),
    renderParameters(doc, op.parameters),
    renderBody(doc, op.requestBody),
    renderResponses(doc, op.responses));
  return el("article", {
    className: "operation", id: op.operationId, "data-operation-id": op.operationId,
    "data-method": method, "data-path": path,
  }, el("details", {}, summary, body));
}

function renderSecuritySchemes(doc) {
  const schemes = (doc.components || {}).securitySchemes || {};
  const items = Object.entries(schemes).map(([name, scheme]) => {
    if (scheme.type === "oauth2") {
      const flows = Object.entries(scheme.flows || {});
      return el("li", {}, el("strong", {}, name), " OAuth 2.0 ",
        flows.map(([flow, f]) => [flow, " (token URL ", el("code", {}, f.tokenUrl || ""), ")",
          el("ul", { className: "scopes" }, Object.entries(f.scopes || {}).map(([scope, text]) =>
            el("li", {}, el("code", {}, scope), " ", text)))]));
    }
    if (scheme.type === "apiKey") {
      return el("li", {}, el("strong", {}, name), " API key in ", scheme.in, " ",
        el("code", {}, scheme.name));
    }
    return el("li", {}, el("strong", {}, name), " ", scheme.type);
  });
  return items.length ? el("section", { className: "security" }, el("h2", {}, "Authentication"),
    el("ul", {}, items)) : null;
}

function render(name, doc) {
  resetPanels();
  const groups = new Map();
  for (const tag of doc.tags || []) groups.set(tag.name, { tag, operations: [] });
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tagName = (op.tags && op.tags[0]) || "other";
      if (!groups.has(tagName)) groups.set(tagName, { tag: { name: tagName }, operations: [] });
      groups.get(tagName).operations.push([path, method, op]);
    }
  }
  const info = doc.info || {};
  const nav = el("nav", { className: "toc" }, el("ul", {}, [...groups.values()].map((g) =>
    el("li", {}, el("a", { href: "#tag-" + g.tag.name }, g.tag.name),
      el("ul", {}, g.operations.map(([path, method, op]) => el("li", {},
        el("a", { href: "#" + op.operationId }, method.toUpperCase() + " " + path))))))));
  const sections = [...groups.values()].filter((g) => g.operations.length).map((g) =>
    el("section", { className: "tag", id: "tag-" + g.tag.name, "data-tag": g.tag.name },
      el("h2", {}, g.tag.name), g.tag.description ? prose(g.tag.description) : null,
      g.operations.map(([path, method, op]) => renderOperation(doc, path, method, op))));
  const intro = el("section", { className: "intro", "data-document": name },
    el("h2", {}, info.title || name),
    el("p", { className: "version" }, "Version ", el("code", {}, info.version || "")),
    prose(info.description || ""));
  app.replaceChildren(...[intro, renderSecuritySchemes(doc), nav, sections].flat().filter(Boolean));
  app.dataset.rendered = name;
}

function showError(message) {
  app.replaceChildren(el("p", { className: "status error", role: "alert" }, message));
}

function chosen() {
  const wanted = new URLSearchParams(window.location.search).get("doc");
  if (wanted && names.includes(wanted)) return wanted;
  const versions = names.filter((n) => /^v\d+$/.test(n));
  return versions.length ? versions[versions.length - 1] : names[0];
}

function openTarget() {
  if (!window.location.hash) return;
  const target = document.getElementById(decodeURIComponent(window.location.hash.slice(1)));
  const details = target && target.querySelector("details");
  if (details) details.open = true;
  if (target) target.scrollIntoView();
}

async function load(name) {
  const url = "openapi/" + encodeURIComponent(name) + ".json";
  rawLink.setAttribute("href", url);
  app.dataset.rendered = "";
  try {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(url + " answered " + response.status);
    render(name, await response.json());
    openTarget();
  } catch (error) {
    showError("Could not load the " + name + " document: " + error.message);
  }
}

setupCredentials();
window.addEventListener("hashchange", openTarget);
if (!names.length) {
  showError("No OpenAPI documents are published.");
} else {
  for (const name of names) select.append(el("option", { value: name }, name));
  select.value = chosen();
  select.addEventListener("change", () => {
    const params = new URLSearchParams(window.location.search);
    params.set("doc", select.value);
    window.history.replaceState(null, "", "?" + params.toString() + window.location.hash);
    load(select.value);
  });
  load(select.value);
}
