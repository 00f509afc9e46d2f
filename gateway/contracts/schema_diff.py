"""Comparison of two JSON Schemas in one direction, following ``$ref``s (cycles included).

In a *request* the old schema must still accept everything it accepted: a type no longer
accepted, enum values removed, an enum, a pattern or a format added or changed,
``maxLength``/``maximum``/``maxItems`` lowered, ``minLength``/``minimum``/``minItems`` raised,
a new required property, an optional property made required, or additional properties no
longer accepted are breaking.

In a *response* the new schema must not produce anything the old one did not promise: a
property removed or no longer required, a new type (``null``, ``integer`` → ``number``), or
**enum values added** are breaking (generated clients map enums to closed types). Response
constraints widened (a longer string, a larger number) are reported as non-breaking.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Json = Mapping[str, Any]

REQUEST, RESPONSE = "request", "response"

_UPPER = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_LOWER = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_COMPOSITE = ("anyOf", "oneOf")


@dataclass(frozen=True)
class Change:
    breaking: bool
    where: str
    what: str

    def line(self) -> str:
        return f"{'BREAKING' if self.breaking else 'change'} {self.where}: {self.what}"


def escape(segment: object) -> str:
    return str(segment).replace("~", "~0").replace("/", "~1")


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _show(values: list[Any]) -> str:
    return ", ".join(json.dumps(v) for v in values)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _kind(schema: Json) -> str:
    if "type" in schema:
        return str(schema["type"])
    if "const" in schema:
        return _json_type(schema["const"])
    if "enum" in schema:
        kinds = {_json_type(v) for v in schema["enum"]}
        return kinds.pop() if len(kinds) == 1 else "any"
    if "properties" in schema or "additionalProperties" in schema or "required" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return "any"


def _enum(schema: Json) -> dict[str, Any] | None:
    if "const" in schema:
        return {_key(schema["const"]): schema["const"]}
    if "enum" in schema:
        return {_key(v): v for v in schema["enum"]}
    return None


class SchemaDiffer:
    """Collects ``Change``s; subclasses walk documents and call ``compare_schema``."""

    def __init__(self, old: Json, new: Json) -> None:
        self.old, self.new = old, new
        self.changes: list[Change] = []

    def add(self, breaking: bool, where: str, what: str) -> None:
        self.changes.append(Change(breaking, where, what))

    def breaking_if(self, condition: bool, where: str, what: str) -> None:
        self.add(condition, where, what)

    @staticmethod
    def _lookup(doc: Json, ref: str) -> Json:
        if not ref.startswith("#/"):
            raise ValueError(f"only local references are supported: {ref}")
        node: Any = doc
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node  # type: ignore[no-any-return]

    def resolve(self, node: Any, doc: Json) -> tuple[Json, str | None]:
        ref = None
        hops = 0
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
            ref = node["$ref"]
            node = self._lookup(doc, ref)
            hops += 1
            if hops > 50:
                raise ValueError(f"reference loop at {ref}")
        return (node if isinstance(node, Mapping) else {}), ref

    def _variants(self, schema: Json, doc: Json, depth: int = 0) -> list[Json]:
        """A schema as the alternatives it allows (anyOf/oneOf and type lists flattened)."""
        schema, _ = self.resolve(schema, doc)
        if depth < 10:
            if "allOf" in schema and len(schema["allOf"]) == 1 and "properties" not in schema:
                return self._variants(schema["allOf"][0], doc, depth + 1)
            for keyword in _COMPOSITE:
                if keyword in schema:
                    return [v for branch in schema[keyword]
                            for v in self._variants(branch, doc, depth + 1)]
        types = schema.get("type")
        out: list[Json]
        if isinstance(types, list):
            out = [{**schema, "type": t} for t in types]
        else:
            out = [schema]
        if schema.get("nullable") and not any(_kind(v) == "null" for v in out):
            out.append({"type": "null"})
        return out

    def compare_schema(self, old_raw: Any, new_raw: Any, where: str, direction: str,
                       stack: frozenset[tuple[str | None, str | None]] = frozenset()) -> None:
        """Report how ``new_raw`` differs from ``old_raw`` for a request or a response."""
        _, old_ref = self.resolve(old_raw, self.old)
        _, new_ref = self.resolve(new_raw, self.new)
        if old_ref is not None or new_ref is not None:
            if (old_ref, new_ref) in stack:
                return  # a recursive model: this pair is being compared further up
            stack = stack | {(old_ref, new_ref)}
        old_vs = self._variants(old_raw, self.old)
        new_vs = self._variants(new_raw, self.new)
        request = direction == REQUEST
        old_any = any(_kind(v) == "any" for v in old_vs)
        new_any = any(_kind(v) == "any" for v in new_vs)
        if old_any and new_any:
            return
        if old_any:
            self.breaking_if(request, where,
                             f"type narrowed from any value to {self._kinds(new_vs)}")
            return
        if new_any:
            self.breaking_if(not request, where,
                             f"type widened from {self._kinds(old_vs)} to any value")
            return
        unmatched_new = list(new_vs)
        gone: list[str] = []
        for old in old_vs:
            kind = _kind(old)
            match = next((n for n in unmatched_new if _kind(n) == kind), None)
            if match is None and kind == "integer":
                match = next((n for n in unmatched_new if _kind(n) == "number"), None)
            if match is None:
                gone.append(kind)
                continue
            unmatched_new.remove(match)
            self._same_kind(old, match, where, direction, stack)
        came = [_kind(n) for n in unmatched_new]
        if gone and came:
            self.add(True, where, f"type changed from {' | '.join(gone)} to {' | '.join(came)}")
        elif gone:
            self.breaking_if(request, where, f"type {' | '.join(gone)} no longer "
                             + ("accepted" if request else "returned"))
        elif came:
            self.breaking_if(not request, where, f"now also accepts {' | '.join(came)}"
                             if request else f"may now be {' | '.join(came)}")

    @staticmethod
    def _kinds(variants: list[Json]) -> str:
        return " | ".join(dict.fromkeys(_kind(v) for v in variants))

    def _same_kind(self, old: Json, new: Json, where: str, direction: str,
                   stack: frozenset[tuple[str | None, str | None]]) -> None:
        request = direction == REQUEST
        if _kind(old) == "integer" and _kind(new) == "number":
            self.breaking_if(not request, where, "type widened from integer to number")
        self._enums(old, new, where, request)
        self._constraints(old, new, where, request)
        if "properties" in old or "properties" in new or "required" in old or "required" in new:
            self._object(old, new, where, direction, stack)
        elif "additionalProperties" in old or "additionalProperties" in new:
            self._additional(old, new, where, direction, stack)
        if "items" in old and "items" in new:
            self.compare_schema(old["items"], new["items"], where + "/items", direction, stack)

    def _enums(self, old: Json, new: Json, where: str, request: bool) -> None:
        before, after = _enum(old), _enum(new)
        if before == after:
            return
        if request:
            if after is None:
                self.add(False, where, "enum restriction removed")
            elif before is None:
                self.add(True, where, f"enum restriction added: {_show(list(after.values()))}")
            else:
                removed = [v for k, v in before.items() if k not in after]
                added = [v for k, v in after.items() if k not in before]
                if removed:
                    self.add(True, where, f"enum values no longer accepted: {_show(removed)}")
                if added:
                    self.add(False, where, f"enum values added: {_show(added)}")
            return
        if before is None:
            self.add(False, where, "enum restriction added")
        elif after is None:
            self.add(True, where, "enum restriction removed: any value may be returned")
        else:
            added = [v for k, v in after.items() if k not in before]
            removed = [v for k, v in before.items() if k not in after]
            if added:
                self.add(True, where, f"enum values may now be returned: {_show(added)}")
            if removed:
                self.add(False, where, f"enum values no longer returned: {_show(removed)}")

    def _constraints(self, old: Json, new: Json, where: str, request: bool) -> None:
        for keyword in _UPPER + _LOWER:
            before, after = old.get(keyword), new.get(keyword)
            if before == after:
                continue
            upper = keyword in _UPPER
            if after is None:
                narrowed = False
            elif before is None:
                narrowed = True
            else:
                narrowed = after < before if upper else after > before
            what = (f"{keyword} added ({after})" if before is None
                    else f"{keyword} removed (was {before})" if after is None
                    else f"{keyword} {'lowered' if after < before else 'raised'} "
                         f"from {before} to {after}")
            self.add(request and narrowed, where, what)
        for keyword in ("pattern", "format", "multipleOf"):
            before, after = old.get(keyword), new.get(keyword)
            if before == after:
                continue
            what = (f"{keyword} added ({after})" if before is None
                    else f"{keyword} removed (was {before})" if after is None
                    else f"{keyword} changed from {before} to {after}")
            self.add(request and after is not None, where, what)
        if new.get("uniqueItems") and not old.get("uniqueItems"):
            self.add(request, where, "uniqueItems added")

    def _object(self, old: Json, new: Json, where: str, direction: str,
                stack: frozenset[tuple[str | None, str | None]]) -> None:
        request = direction == REQUEST
        o_props, n_props = old.get("properties") or {}, new.get("properties") or {}
        o_req, n_req = set(old.get("required") or ()), set(new.get("required") or ())
        closed = new.get("additionalProperties") is False
        for name in o_props:
            at = f"{where}/properties/{escape(name)}"
            if name not in n_props:
                if request:
                    self.breaking_if(closed, at, "request property removed" + (
                        " and unknown properties are rejected" if closed else ""))
                else:
                    self.add(True, at, "response property removed")
            elif not request and name in o_req and name not in n_req:
                self.add(True, at, "response property no longer required (may be absent)")
        for name in n_props:
            at = f"{where}/properties/{escape(name)}"
            if name not in o_props:
                if request and name in n_req:
                    self.add(True, at, "new required request property")
                else:
                    self.add(False, at, f"{direction} property added")
                continue
            if name in n_req and name not in o_req:
                self.add(request, at, "request property became required" if request
                         else "response property now always present")
            elif request and name in o_req and name not in n_req:
                self.add(False, at, "request property became optional")
            self.compare_schema(o_props[name], n_props[name], at, direction, stack)
        for name in sorted(n_req - o_req - set(n_props)):
            self.add(request, f"{where}/required", f"{name} is now required")
        self._additional(old, new, where, direction, stack)

    def _additional(self, old: Json, new: Json, where: str, direction: str,
                    stack: frozenset[tuple[str | None, str | None]]) -> None:
        before = old.get("additionalProperties", True)
        after = new.get("additionalProperties", True)
        at = where + "/additionalProperties"
        if before is not False and after is False:
            self.breaking_if(direction == REQUEST, at, "additional properties no longer accepted")
        elif before is False and after is not False:
            self.add(False, at, "additional properties now allowed")
        elif isinstance(before, Mapping) and isinstance(after, Mapping):
            self.compare_schema(before, after, at, direction, stack)
