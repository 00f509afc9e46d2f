// Try an operation against the gateway serving this page, and the same call as curl.
//
// Credentials live only in the header's input fields (in memory): they are never written
// to localStorage, sessionStorage, cookies or the URL, and a reload forgets them. The
// inputs carry no name, so no form can serialize them. curl snippets name the credential
// as a shell variable ($GATEWAY_API_KEY, $GATEWAY_TOKEN) rather than showing it.
import { codeBlock, el, json, resolve } from "./dom.js";

const KEY_HEADER = "X-API-Key";
const ACCEPT = "application/json, application/problem+json";
const SHOWN_HEADERS = [
  "content-type", "location", "www-authenticate", "retry-after", "ratelimit-policy", "ratelimit",
  "cache-status", "age", "deprecation", "sunset", "link", "x-request-id",
];

// each rendered panel's curl refresher; the credential kind changes every snippet
const refreshers = new Set();

const kindInput = () => document.getElementById("credential-kind");
const valueInput = () => document.getElementById("credential-value");

// the gateway's root is where /docs sits, so a gateway mounted under a prefix still works
function gatewayUrl(path) {
  return new URL(path.replace(/^\//, ""), new URL(".", window.location.href));
}

// one path segment; "." and ".." escaped so URL parsing cannot fold them away
function segment(value) {
  return value === "." || value === ".." ? value.replace(/\./g, "%2E") : encodeURIComponent(value);
}

function credential() {
  const value = valueInput().value.trim();
  return value ? { kind: kindInput().value, value } : null;
}

function base64(text) {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

// the client-credentials grant at /oauth/token; the token lands in the bearer field
async function fetchToken(id, secret, scope, status) {
  const form = new URLSearchParams({ grant_type: "client_credentials" });
  if (scope) form.set("scope", scope);
  status.textContent = "Asking /oauth/token…";
  try {
    const response = await fetch(gatewayUrl("/oauth/token"), {
      method: "POST", body: form, credentials: "omit", cache: "no-store",
      headers: { Authorization: "Basic " + base64(id + ":" + secret), Accept: ACCEPT },
    });
    const answer = await response.json();
    if (!response.ok || !answer.access_token) {
      status.textContent = response.status + ": " + (answer.detail || answer.error_description
        || answer.error || "no token");
      return;
    }
    kindInput().value = "bearer";
    kindInput().dispatchEvent(new Event("change"));
    valueInput().value = answer.access_token;
    status.textContent = "Token for " + (answer.scope || "the client's scopes") + ", valid "
      + answer.expires_in + " s";
  } catch (error) {
    status.textContent = "The token request failed: " + error.message;
  }
}

/** Forgets the panels of the previous document (called before rendering another). */
export function resetPanels() {
  refreshers.clear();
}

export function setupCredentials() {
  const form = document.getElementById("credentials");
  const tokenForm = document.getElementById("token-form");
  form.addEventListener("submit", (event) => event.preventDefault());
  kindInput().addEventListener("change", () => refreshers.forEach((refresh) => refresh()));
  document.getElementById("credential-clear").addEventListener("click", () => {
    for (const input of [...form.querySelectorAll("input"), ...tokenForm.querySelectorAll("input")]) {
      input.value = "";
    }
  });
  const status = document.getElementById("token-status");
  tokenForm.addEventListener("submit", (event) => {
    event.preventDefault();
    fetchToken(document.getElementById("token-client").value.trim(),
      document.getElementById("token-secret").value,
      document.getElementById("token-scope").value.trim(), status);
  });
}

function quote(text) {
  return "'" + String(text).replace(/'/g, "'\\''") + "'";
}

function authHeader(cred) {
  if (!cred) return null;
  return cred.kind === "bearer" ? ["Authorization", "Bearer " + cred.value] : [KEY_HEADER, cred.value];
}

export function curlCommand(method, url, headers, body, secured) {
  const lines = ["curl -sS -i" + (method === "GET" ? "" : " -X " + method) + " " + quote(url)];
  if (secured) {
    const kind = (credential() || { kind: kindInput().value }).kind;
    lines.push(kind === "bearer" ? '-H "Authorization: Bearer $GATEWAY_TOKEN"'
      : '-H "' + KEY_HEADER + ': $GATEWAY_API_KEY"');
  }
  for (const [name, value] of headers) lines.push("-H " + quote(name + ": " + value));
  if (body !== null) lines.push("--data-raw " + quote(body));
  return lines.join(" \\\n  ");
}

function field(param) {
  const example = param.example !== undefined ? param.example
    : param.schema && Array.isArray(param.schema.examples) ? param.schema.examples[0] : undefined;
  const input = el("input", {
    type: "text", spellcheck: "false", autocomplete: "off", "data-in": param.in,
    "data-name": param.name, required: param.in === "path" || undefined,
    value: example === undefined ? undefined : String(example),
    "aria-label": param.name + " (" + param.in + ")",
  });
  return [el("label", { className: "try-field" }, el("code", {}, param.name),
    el("span", { className: "hint" }, param.in, param.required ? ", required" : ""), input), input];
}

// the example as the body's media type writes it: JSON, or a form's name=value pairs
function bodyText(mediaType, example) {
  if (example === undefined) return "";
  if (mediaType === "application/x-www-form-urlencoded" && example && typeof example === "object") {
    return new URLSearchParams(example).toString();
  }
  return /json$/.test(mediaType || "") ? json(example) : String(example);
}

function showResult(box, response, text, started) {
  const media = (response.headers.get("content-type") || "").split(";")[0];
  let shown = text;
  if (/json$/.test(media)) {
    try { shown = json(JSON.parse(text)); } catch (error) { shown = text; }
  }
  const ok = response.status < 400;
  const headers = SHOWN_HEADERS.filter((h) => response.headers.has(h))
    .map((h) => el("li", {}, el("code", {}, h), ": ", response.headers.get(h)));
  box.replaceChildren(
    el("p", { className: "result-line" },
      el("span", { className: "status " + (ok ? "ok" : "problem") }, response.status), " ",
      response.statusText, " ", el("code", {}, media || "no body"), " ",
      el("span", { className: "hint" }, Math.round(performance.now() - started) + " ms")),
    headers.length ? el("ul", { className: "headers" }, headers) : null,
    text ? codeBlock("response", shown) : null);
  box.dataset.resultStatus = String(response.status);
  box.dataset.resultKind = ok ? "ok" : "problem";
}

export function tryPanel(doc, path, method, op, secured) {
  const params = (op.parameters || []).map((p) => resolve(doc, p)[0]);
  const inputs = [];
  const form = el("form", { className: "try-form", novalidate: true });
  for (const param of params) {
    const [label, input] = field(param);
    inputs.push(input);
    form.append(label);
  }
  let textarea = null;
  let mediaType = null;
  if (op.requestBody) {
    const content = resolve(doc, op.requestBody)[0].content || {};
    mediaType = "application/json" in content ? "application/json" : Object.keys(content)[0];
    const media = content[mediaType] || {};
    textarea = el("textarea", { className: "try-body", rows: 10, spellcheck: "false",
      "aria-label": "request body" }, bodyText(mediaType, media.example));
    form.append(el("label", { className: "try-field body" }, "Body ",
      el("code", {}, mediaType || "")), textarea);
  }
  const send = el("button", { type: "submit", className: "send" }, "Send");
  form.append(el("div", { className: "try-actions" }, send,
    el("span", { className: "hint" }, secured
      ? "Uses the credentials entered at the top of the page, if any."
      : "Public: sent without credentials.")));
  const curlBox = el("div", { className: "curl" });
  const result = el("div", { className: "result", "aria-live": "polite" });

  function request() {
    let target = path;
    const query = new URLSearchParams();
    const headers = [];
    for (const input of inputs) {
      const value = input.value;
      const where = input.dataset.in;
      if (where === "path") {
        target = target.replace("{" + input.dataset.name + "}", segment(value));
      } else if (value === "") {
        continue;
      } else if (where === "query") {
        query.append(input.dataset.name, value);
      } else if (where === "header") {
        headers.push([input.dataset.name, value]);
      }
    }
    const url = gatewayUrl(target);
    url.search = query.toString();
    if (textarea) headers.push(["Content-Type", mediaType]);
    return { url: url.toString(), headers, body: textarea ? textarea.value : null };
  }

  function refreshCurl() {
    const { url, headers, body } = request();
    curlBox.replaceChildren(codeBlock("curl", curlCommand(method.toUpperCase(), url, headers,
      body, secured)), secured ? el("p", { className: "hint" }, "Set ",
      el("code", {}, "GATEWAY_API_KEY"), " (or ", el("code", {}, "GATEWAY_TOKEN"),
      ") in your shell first; the snippet never contains the credential.") : null);
  }

  form.addEventListener("input", refreshCurl);
  refreshers.add(refreshCurl);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const { url, headers, body } = request();
    const sent = new Headers({ Accept: ACCEPT });
    for (const [name, value] of headers) sent.set(name, value);
    const auth = secured ? authHeader(credential()) : null;
    if (auth) sent.set(auth[0], auth[1]);
    send.disabled = true;
    delete result.dataset.resultStatus;
    result.replaceChildren(el("p", { className: "hint" }, "Sending…"));
    const started = performance.now();
    try {
      const response = await fetch(url, { method: method.toUpperCase(), headers: sent, body,
        credentials: "omit", cache: "no-store" });
      showResult(result, response, await response.text(), started);
    } catch (error) {
      result.replaceChildren(el("p", { className: "status error", role: "alert" },
        "The request failed before an answer: " + error.message));
      result.dataset.resultStatus = "0";
    } finally {
      send.disabled = false;
    }
  });
  refreshCurl();
  return el("section", { className: "try", "data-try": op.operationId },
    el("h4", {}, "Try it"), form, el("h5", {}, "curl"), curlBox, el("h5", {}, "Answer"), result);
}
