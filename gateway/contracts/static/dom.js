// DOM and schema helpers of the docs page. Every string from a document is set as text,
// never as HTML, so nothing in a contract can inject markup or script.

const CONSTRAINTS = [
  "pattern", "format", "minLength", "maxLength", "minimum", "exclusiveMinimum", "maximum",
  "exclusiveMaximum", "multipleOf", "minItems", "maxItems", "uniqueItems", "default",
];
// shown as written in the schema (a regex or a format name), not as a JSON string literal
const RAW = new Set(["pattern", "format"]);

export function el(tag, attrs, ...children) {
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
export function prose(text) {
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
export function resolve(doc, node) {
  let name = null;
  for (let hops = 0; node && typeof node.$ref === "string" && hops < 50; hops += 1) {
    name = node.$ref.split("/").pop();
    node = lookup(doc, node.$ref);
  }
  return [node || {}, name];
}

export function typeLabel(doc, schema, depth) {
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

// [prefix, keyword, value as shown] for every constraint of a schema and its variants
function constraintList(doc, schema, depth, prefix) {
  depth = depth || 0;
  prefix = prefix || "";
  const [s] = resolve(doc, schema);
  const found = [];
  for (const key of CONSTRAINTS) {
    if (s[key] === undefined) continue;
    found.push([prefix, key, RAW.has(key) ? String(s[key]) : JSON.stringify(s[key])]);
  }
  if (Array.isArray(s.enum)) {
    found.push([prefix, "one of", s.enum.map((v) => JSON.stringify(v)).join(", ")]);
  }
  if (Array.isArray(s.examples) && s.examples.length) {
    found.push([prefix, "example", JSON.stringify(s.examples[0])]);
  }
  if (depth < 4) {
    for (const v of s.anyOf || s.oneOf || []) found.push(...constraintList(doc, v, depth + 1, prefix));
    if (s.items) found.push(...constraintList(doc, s.items, depth + 1, prefix + "items "));
  }
  return found;
}

export function constraints(doc, schema) {
  const found = constraintList(doc, schema);
  if (!found.length) return null;
  return el("ul", { className: "constraints" }, found.map(([prefix, key, value]) =>
    el("li", { "data-constraint": key }, prefix + key + ": ", el("code", {}, value))));
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

export function notes(doc, schema, description) {
  const [s] = resolve(doc, schema);
  const text = description || s.description;
  const cell = el("td", { className: "notes" });
  if (text) cell.append(...prose(text));
  const list = constraints(doc, schema);
  if (list) cell.append(list);
  return cell;
}

export function renderSchema(doc, schema, seen) {
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
    const list = targets.length ? null : constraints(doc, schema);
    if (list) box.append(list);
  }
  return box;
}

// copies a block's text: the Clipboard API where the page may use it, else a selection
export async function copyText(text, block, status) {
  try {
    await navigator.clipboard.writeText(text);
    status.textContent = "Copied";
  } catch (error) {
    const range = document.createRange();
    range.selectNodeContents(block);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    status.textContent = "Selected: press Ctrl+C to copy";
  }
}

// a <pre> with a copy button; `kind` names it for the style sheet and for tests
export function codeBlock(kind, text) {
  const code = el("code", {}, text);
  const pre = el("pre", { className: "code " + kind, "data-block": kind }, code);
  const status = el("span", { className: "copy-status", role: "status" });
  const button = el("button", { type: "button", className: "copy" }, "Copy");
  button.addEventListener("click", () => copyText(code.textContent, code, status));
  return el("div", { className: "code-block" }, pre, el("div", { className: "copy-bar" },
    button, status));
}

export function json(value) {
  return JSON.stringify(value, null, 2);
}
