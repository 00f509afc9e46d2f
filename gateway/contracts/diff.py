"""Breaking-change detection between two OpenAPI documents (old → new), following ``$ref``s.

A change is *breaking* when a client written against the old document can fail
against the new one:

- an operation (path + method) is removed;
- a new required parameter, request property or request body; an optional one made required;
- a request type narrowed: a type no longer accepted, enum values removed, an enum, a pattern
  or a format added or changed, ``maxLength``/``maximum``/``maxItems`` lowered,
  ``minLength``/``minimum``/``minItems`` raised, additional properties no longer accepted;
- a response property removed or no longer required, a response type widened (a new type
  such as ``null``, ``integer`` → ``number``); **enum values added to a response** are
  breaking too, because generated clients map enums to closed types;
- a success status code removed or changed; a response media type or a guaranteed
  (``required``) response header removed;
- a security alternative removed (including a scope changed) or a public operation made
  authenticated; a security scheme removed or changed.

Everything else that differs (new operations, optional fields, new error statuses, response
constraints widened) is reported as a non-breaking change.
"""


from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gateway.contracts.schema_diff import REQUEST, RESPONSE, Change, Json, SchemaDiffer, escape

__all__ = ["Change", "breaking", "diff"]

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def _template(path: str) -> str:
    """``/items/{sku}`` and ``/items/{id}`` are the same route."""
    out, depth = [], 0
    for ch in path:
        if ch == "{":
            depth += 1
            out.append("{}")
        elif ch == "}":
            depth -= 1
        elif depth == 0:
            out.append(ch)
    return "".join(out)


class _Differ(SchemaDiffer):
    # -- document ---------------------------------------------------------------------------
    def run(self) -> list[Change]:
        old_ops, new_ops = dict(self._operations(self.old)), dict(self._operations(self.new))
        for key, (path, method, _, _) in old_ops.items():
            if key not in new_ops:
                self.add(True, f"{method.upper()} {path}", "operation removed")
        for key, (path, method, _, _) in new_ops.items():
            if key not in old_ops:
                self.add(False, f"{method.upper()} {path}", "operation added")
        for key in old_ops.keys() & new_ops.keys():
            self._operation(old_ops[key], new_ops[key])
        self._security_schemes()
        return sorted(self.changes, key=lambda c: (not c.breaking, c.where, c.what))

    def _operations(self, doc: Json
                    ) -> Iterator[tuple[tuple[str, str], tuple[str, str, Json, Json]]]:
        for path, raw_item in (doc.get("paths") or {}).items():
            item, _ = self.resolve(raw_item, doc)
            for method in HTTP_METHODS:
                if method in item:
                    yield (_template(path), method), (path, method, item[method], item)

    def _operation(self, old: tuple[str, str, Json, Json], new: tuple[str, str, Json, Json]
                   ) -> None:
        path, method, o_op, o_item = old
        _, _, n_op, n_item = new
        where = f"{method.upper()} {path}#"
        self._parameters(where, self._params(o_op, o_item, self.old),
                         self._params(n_op, n_item, self.new))
        self._request_body(where + "/requestBody", o_op.get("requestBody"),
                           n_op.get("requestBody"))
        self._responses(where + "/responses", o_op.get("responses") or {},
                        n_op.get("responses") or {})
        self._security(where + "/security", o_op, n_op)

    # -- parameters ---------------------------------------------------------------------------
    def _params(self, op: Json, item: Json, doc: Json) -> dict[tuple[str, str], Json]:
        out: dict[tuple[str, str], Json] = {}
        for raw in [*(item.get("parameters") or []), *(op.get("parameters") or [])]:
            param, _ = self.resolve(raw, doc)
            name = str(param.get("name", ""))
            where = str(param.get("in", ""))
            out[(where, name.lower() if where == "header" else name)] = param
        return out

    def _parameters(self, where: str, old: dict[tuple[str, str], Json],
                    new: dict[tuple[str, str], Json]) -> None:
        for key, param in new.items():
            at = f"{where}/parameters/{escape(key[0])}/{escape(param.get('name'))}"
            if key not in old:
                if param.get("required"):
                    self.add(True, at, "new required parameter")
                else:
                    self.add(False, at, "new optional parameter")
                continue
            before = old[key]
            if param.get("required") and not before.get("required"):
                self.add(True, at, "parameter became required")
            elif before.get("required") and not param.get("required"):
                self.add(False, at, "parameter became optional")
            self.compare_schema(before.get("schema", {}), param.get("schema", {}),
                                at + "/schema", REQUEST)
        for key, param in old.items():
            if key not in new:
                self.add(False, f"{where}/parameters/{escape(key[0])}/{escape(param.get('name'))}",
                         "parameter removed")

    # -- request body --------------------------------------------------------------------------
    def _request_body(self, where: str, old_raw: Any, new_raw: Any) -> None:
        old = self.resolve(old_raw, self.old)[0] if old_raw else None
        new = self.resolve(new_raw, self.new)[0] if new_raw else None
        if new is None:
            if old is not None:
                self.add(False, where, "request body removed")
            return
        if old is None:
            self.breaking_if(bool(new.get("required")), where,
                             "new required request body" if new.get("required")
                             else "new optional request body")
            return
        if new.get("required") and not old.get("required"):
            self.add(True, where, "request body became required")
        old_media, new_media = old.get("content") or {}, new.get("content") or {}
        for media, o_media in old_media.items():
            at = f"{where}/content/{escape(media)}"
            if media not in new_media:
                self.add(True, at, "request media type no longer accepted")
                continue
            self.compare_schema(o_media.get("schema", {}), new_media[media].get("schema", {}),
                                at + "/schema", REQUEST)
        for media in new_media.keys() - old_media.keys():
            self.add(False, f"{where}/content/{escape(media)}", "request media type added")

    # -- responses -------------------------------------------------------------------------------
    def _responses(self, where: str, old: Json, new: Json) -> None:
        def success(statuses: Any) -> set[str]:
            return {str(s) for s in statuses if str(s).startswith("2")}

        old_ok, new_ok = success(old), success(new)
        for status in sorted(old_ok - new_ok):
            now = ", ".join(sorted(new_ok)) or "none"
            self.add(True, f"{where}/{escape(status)}",
                     f"success status {status} removed (success is now {now})")
        for status in sorted(new_ok - old_ok):
            self.add(False, f"{where}/{escape(status)}", f"success status {status} added")
        for status in sorted({str(s) for s in old} - {str(s) for s in new} - old_ok):
            self.add(False, f"{where}/{escape(status)}", f"response {status} no longer documented")
        for status in sorted({str(s) for s in new} - {str(s) for s in old} - new_ok):
            self.add(False, f"{where}/{escape(status)}", f"response {status} added")
        new_by_str = {str(s): v for s, v in new.items()}
        for status, raw in old.items():
            if str(status) in new_by_str:
                self._response(f"{where}/{escape(status)}", self.resolve(raw, self.old)[0],
                               self.resolve(new_by_str[str(status)], self.new)[0])

    def _response(self, where: str, old: Json, new: Json) -> None:
        old_media, new_media = old.get("content") or {}, new.get("content") or {}
        for media, o_media in old_media.items():
            at = f"{where}/content/{escape(media)}"
            if media not in new_media:
                self.add(True, at, "response media type removed")
                continue
            self.compare_schema(o_media.get("schema", {}), new_media[media].get("schema", {}),
                                at + "/schema", RESPONSE)
        for media in new_media.keys() - old_media.keys():
            self.add(False, f"{where}/content/{escape(media)}", "response media type added")
        old_headers = {k.lower(): v for k, v in (old.get("headers") or {}).items()}
        new_headers = {k.lower(): v for k, v in (new.get("headers") or {}).items()}
        for name, raw in old_headers.items():
            header = self.resolve(raw, self.old)[0]
            at = f"{where}/headers/{escape(name)}"
            after = self.resolve(new_headers[name], self.new)[0] if name in new_headers else None
            if header.get("required") and not (after and after.get("required")):
                self.add(True, at, "required response header no longer guaranteed")
            if after is not None:
                self.compare_schema(header.get("schema", {}), after.get("schema", {}),
                                    at + "/schema", RESPONSE)
        for name in new_headers.keys() - old_headers.keys():
            self.add(False, f"{where}/headers/{escape(name)}", "response header added")

    # -- security --------------------------------------------------------------------------------
    @staticmethod
    def _alternatives(doc: Json, op: Json) -> set[frozenset[tuple[str, frozenset[str]]]]:
        requirements = op["security"] if "security" in op else doc.get("security") or []
        return {frozenset((scheme, frozenset(scopes)) for scheme, scopes in req.items())
                for req in requirements}

    @staticmethod
    def _describe(alternative: frozenset[tuple[str, frozenset[str]]]) -> str:
        if not alternative:
            return "anonymous access"
        return " + ".join(f"{scheme}[{' '.join(sorted(scopes))}]" if scopes else scheme
                          for scheme, scopes in sorted(alternative, key=lambda a: a[0]))

    def _security(self, where: str, old_op: Json, new_op: Json) -> None:
        old, new = self._alternatives(self.old, old_op), self._alternatives(self.new, new_op)
        if not old and new and frozenset() not in new:
            self.add(True, where, "public operation now requires credentials")
            return
        if old and not new:
            self.add(False, where, "operation no longer requires credentials")
            return
        for alternative in sorted(old - new, key=self._describe):
            self.add(True, where, f"security alternative {self._describe(alternative)} removed")
        for alternative in sorted(new - old, key=self._describe):
            self.add(False, where, f"security alternative {self._describe(alternative)} added")

    def _security_schemes(self) -> None:
        old = (self.old.get("components") or {}).get("securitySchemes") or {}
        new = (self.new.get("components") or {}).get("securitySchemes") or {}
        for name, raw in old.items():
            where = f"#/components/securitySchemes/{escape(name)}"
            if name not in new:
                self.add(True, where, "security scheme removed")
                continue
            before, after = self.resolve(raw, self.old)[0], self.resolve(new[name], self.new)[0]
            for field in ("type", "in", "name", "scheme", "openIdConnectUrl"):
                if before.get(field) != after.get(field):
                    self.add(True, f"{where}/{field}",
                             f"changed from {before.get(field)!r} to {after.get(field)!r}")
            old_flows, new_flows = before.get("flows") or {}, after.get("flows") or {}
            for flow, o_flow in old_flows.items():
                at = f"{where}/flows/{escape(flow)}"
                if flow not in new_flows:
                    self.add(True, at, "OAuth flow removed")
                    continue
                n_flow = new_flows[flow]
                for url in ("tokenUrl", "authorizationUrl"):
                    if o_flow.get(url) != n_flow.get(url):
                        self.add(True, f"{at}/{url}",
                                 f"changed from {o_flow.get(url)!r} to {n_flow.get(url)!r}")
                removed = sorted(set(o_flow.get("scopes") or {}) - set(n_flow.get("scopes") or {}))
                if removed:
                    self.add(True, f"{at}/scopes", f"scopes removed: {', '.join(removed)}")


def diff(old: Json, new: Json) -> list[Change]:
    """Every difference that matters to a client, breaking ones first."""
    return _Differ(old, new).run()


def breaking(changes: list[Change]) -> list[Change]:
    return [c for c in changes if c.breaking]
