// Renders the gateway's OpenAPI documents (/openapi/{name}.json) as a reference page.
// Plain DOM, no dependencies; every string from the document is set as text, never as HTML.
"use strict";

(function () {
  const METHODS = ["get", "put", "post", "patch", "delete", "head", "options", "trace"];
  const CONSTRAINTS = [
    "pattern", "format", "minLength", "maxLength", "minimum", "exclusiveMinimum", "maximum",
    "exclusiveMaximum", "multipleOf", "minItems", "maxItems", "uniqueItems", "default",
  ];

  const app = document.getElementById("app");
  const select = document.getElementById("document-select");
  const rawLink = document.getElementById("document-link");
  const names = (app.dataset.documents || "").split(/\s+/).filter(Boolean);

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      node.setAttribute(key === "className" ? "class" : key, value === true ? "" : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // `code` spans and **bold** from the document's Markdown-ish descriptions, as text nodes
  function prose(text) {
    const out = [];
    String(text || "").split(/\n\s*\n/).forEach((paragraph) => {
      const p = el("p", { className: "prose" });
      paragraph.replace(/\s*\n\s*/g, " ").split(/(`[^`]+`|\*\*[^*]+\*\*)/).forEach((part) => {
        if (part.startsWith("`") && part.endsWith("`") && part.length > 1) {
          p.append(el("code", {}, part.slice(1, -1)));
        } else if (part.startsWith("**") && part.endsWith("**") && part.length > 3) {
          p.append(el("strong", {}, part.slice(2, -2)));
        } else if (part) {
          p.append(document.createTextNode(part));
        }
      });
      if (p.childNodes.length) out.push(p);
    });
    return out;
  }

  function lookup(doc, ref) {
    if (typeof ref !== "string" || !ref.startsWith("#/")) return undefined;
    return ref.slice(2).split("/").reduce((node, part) => {
      if (node === undefined || node === null) return undefined;
      return node[part.replace(/~1/g, "/").replace(/~0/g, "~")];
    }, doc);
  }

  // follows $ref chains; returns [schema, name of the last component referenced]
  function resolve(doc, node) {
    let name = null;
    for (let hops = 0; node && typeof node.$ref === "string" && hops < 50; hops += 1) {
      name = node.$ref.split("/").pop();
      node = lookup(doc, node.$ref);
    }
    return [node || {}, name];
  }

  function typeLabel(doc, schema, depth) {
    depth = depth || 0;
    const [s, name] = resolve(doc, schema);
    if (name) return name;
    if (depth > 6) return "…";
    const variants = s.anyOf || s.oneOf;
    if (variants) return variants.map((v) => typeLabel(doc, v, depth + 1)).join(" | ");
    if (s.allOf) return s.allOf.map((v) => typeLabel(doc, v, depth + 1)).join(" & ");
    if (s.const !== undefined) return JSON.stringify(s.const);
    if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
    let type = Array.isArray(s.type) ? s.type.join(" | ") : s.type;
    if (type === "array" && s.items) return "array of " + typeLabel(doc, s.items, depth + 1);
    if (!type) type = s.properties ? "object" : "any";
    return type;
  }

  function constraintList(doc, schema, depth) {
    depth = depth || 0;
    const [s] = resolve(doc, schema);
    const found = [];
    for (const key of CONSTRAINTS) {
      if (s[key] !== undefined) found.push(key + ": " + JSON.stringify(s[key]));
    }
    if (Array.isArray(s.enum)) found.push("one of: " + s.enum.map((v) => JSON.stringify(v)).join(", "));
    if (Array.isArray(s.examples) && s.examples.length) {
      found.push("example: " + JSON.stringify(s.examples[0]));
    }
    if (depth < 4) {
      for (const v of s.anyOf || s.oneOf || []) found.push(...constraintList(doc, v, depth + 1));
      if (s.items) found.push(...constraintList(doc, s.items, depth + 1).map((c) => "items " + c));
    }
    return found;
  }

  // object schemas a property leads to (through $ref, items and unions)
  function objectTargets(doc, schema, depth) {
    depth = depth || 0;
    if (depth > 6) return [];
    const [s] = resolve(doc, schema);
    if (s.properties) return [schema];
    const out = [];
    if (s.items) out.push(...objectTargets(doc, s.items, depth + 1));
    for (const v of s.anyOf || s.oneOf || s.allOf || []) {
      out.push(...objectTargets(doc, v, depth + 1));
    }
    return out;
  }

  function notes(doc, schema, description) {
    const [s] = resolve(doc, schema);
    const text = description || s.description;
    const cell = el("td", { className: "notes" });
    if (text) cell.append(...prose(text));
    const constraints = constraintList(doc, schema);
    if (constraints.length) {
      cell.append(el("ul", { className: "constraints" }, constraints.map((c) => el("li", {}, c))));
    }
    return cell;
  }

  function renderSchema(doc, schema, seen) {
    const [s, name] = resolve(doc, schema);
    const box = el("div", { className: "schema", "data-schema": name || undefined });
    if (name && seen.has(name)) {
      box.append(el("p", { className: "type" }, name + " (recursive, see above)"));
      return box;
    }
    const inner = new Set(seen);
    if (name) inner.add(name);
    box.append(el("p", { className: "type" }, el("code", {}, typeLabel(doc, schema))));
    if (s.description) box.append(...prose(s.description));
    if (s.properties) {
      const required = new Set(s.required || []);
      const rows = Object.keys(s.properties).map((prop) => {
        const propSchema = s.properties[prop];
        const typeCell = el("td", { className: "type" }, el("code", {}, typeLabel(doc, propSchema)));
        for (const target of objectTargets(doc, propSchema)) {
          typeCell.append(el("details", { className: "nested" },
            el("summary", {}, typeLabel(doc, target)), renderSchema(doc, target, inner)));
        }
        return el("tr", { "data-property": prop },
          el("td", { className: "field" }, el("code", {}, prop),
            required.has(prop) ? el("span", { className: "required" }, "required") : null),
          typeCell, notes(doc, propSchema));
      });
      box.append(el("table", { className: "properties" },
        el("thead", {}, el("tr", {}, el("th", {}, "Field"), el("th", {}, "Type"),
          el("th", {}, "Notes"))),
        el("tbody", {}, rows)));
      if (s.additionalProperties === false) {
        box.append(el("p", { className: "hint" }, "Unknown fields are rejected."));
      }
    } else {
      const targets = objectTargets(doc, schema);
      for (const target of targets) box.append(renderSchema(doc, target, inner));
      const constraints = constraintList(doc, schema);
      if (!targets.length && constraints.length) {
        box.append(el("ul", { className: "constraints" }, constraints.map((c) => el("li", {}, c))));
      }
    }
    return box;
  }

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

  function renderBody(doc, requestBody) {
    if (!requestBody) return null;
    const [body] = resolve(doc, requestBody);
    return el("section", { className: "request-body" },
      el("h4", {}, "Request body", body.required ? " (required)" : " (optional)"),
      Object.entries(body.content || {}).map(([media, content]) => el("div", { className: "media" },
        el("p", { className: "media-type" }, el("code", {}, media)),
        renderSchema(doc, content.schema || {}, new Set()))));
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
          renderSchema(doc, content.schema || {}, new Set()))),
        renderHeaders(doc, response.headers)));
    }
    if (problems.length) {
      out.push(el("section", { className: "problems" },
        el("h4", {}, "Problem responses ", el("code", {}, "application/problem+json")),
        el("table", { className: "properties" },
          el("thead", {}, el("tr", {}, el("th", {}, "Status"), el("th", {}, "When"),
            el("th", {}, "Headers"))),
          el("tbody", {}, problems.map((status) => {
            const [response] = resolve(doc, responses[status]);
            const content = response.content || {};
            const example = Object.values(content)[0] && Object.values(content)[0].example;
            return el("tr", { "data-status": status },
              el("td", {}, el("span", { className: "status problem" }, status)),
              el("td", {}, ...prose(response.description || ""),
                example && example.type ? el("p", { className: "hint" }, el("code", {}, example.type)) : null),
              el("td", {}, Object.keys(response.headers || {}).map((h) => el("code", { className: "header" }, h))));
          })))));
    }
    return out;
  }

  function renderOperation(doc, path, method, op) {
    const security = securityOf(doc, op);
    const access = security.schemes.length
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
      security.schemes.length
        ? el("p", { className: "hint" }, "Credentials: ", security.schemes.join(" or "),
          security.scopes.length ? " with scope " + security.scopes.join(", ") : "")
        : el("p", { className: "hint" }, "No credentials needed."),
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

  async function load(name) {
    const url = "openapi/" + encodeURIComponent(name) + ".json";
    rawLink.setAttribute("href", url);
    app.dataset.rendered = "";
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(url + " answered " + response.status);
      render(name, await response.json());
      if (window.location.hash) {
        const target = document.getElementById(window.location.hash.slice(1));
        const details = target && target.querySelector("details");
        if (details) details.open = true;
        if (target) target.scrollIntoView();
      }
    } catch (error) {
      showError("Could not load the " + name + " document: " + error.message);
    }
  }

  if (!names.length) {
    showError("No OpenAPI documents are published.");
    return;
  }
  for (const name of names) select.append(el("option", { value: name }, name));
  select.value = chosen();
  select.addEventListener("change", () => {
    const params = new URLSearchParams(window.location.search);
    params.set("doc", select.value);
    window.history.replaceState(null, "", "?" + params.toString());
    load(select.value);
  });
  load(select.value);
})();
