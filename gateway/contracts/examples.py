"""Example values built from the JSON Schemas of one document, valid by construction.

Each value comes from the first of: the field's own ``examples`` (from the pydantic model),
``const``, the first ``enum`` member, a ``default`` (unless null or empty), a demo value
for well-known field names (``FIELD_HINTS``, used only when it satisfies the field's
schema), or a value made from the schema itself (format, a string matching the
``pattern``, numeric bounds, ``minItems``). Optional object members are included, so an
example shows every field.
A schema this module cannot satisfy raises ``ValueError``: the documents are generated
in tests, so an unsupported construct fails there rather than publishing a wrong example.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from gateway.contracts.components import Json
from gateway.contracts.pattern import sample

# values of the embedded demo (README), so a try-it-out call with the example succeeds there
FIELD_HINTS: dict[str, Any] = {
    "sku": "SKU-0001",
    "customer": "CUST-001",
    "warehouse": "WH-EAST",
    "carrier": "sandbox-main",
    "carrier_account": "sandbox-main",
    "service": "ground",
    "name": "A. Buyer",
    "company": "Front Range Supply",
    "street": ["9 Elm St"],
    "city": "Denver",
    "postal_code": "80202",
    "state": "CO",
    "country": "US",
    "currency": "USD",
    "price_list": "RETAIL",
    "amount": "12.50",
    "charge": "12.50",
    "label_id": "LBL-1001",
    "not_found": ["SKU-9999"],
    "tracking_number": "1Z999AA10123456784",
    "email": "receiving@example.com",
    "phone": "+1 303 555 0100",
    "source": "demo",
    "scope": "inventory:read prices:read",
    "Idempotency-Key": "order-1001-box-1",
}
FORMATS: dict[str, str] = {
    "date": "2026-12-01",
    "date-time": "2026-12-01T09:30:00Z",
    "time": "09:30:00Z",
    "uri": "https://example.com/labels/LBL-1001.pdf",
    "email": "receiving@example.com",
    "uuid": "0b6f6f4e-3c55-4d2b-9a3c-5f0d2c3e8a11",
}
MAX_DEPTH = 12


class Examples:
    """Builds examples against the ``components.schemas`` of one document."""

    def __init__(self, components: Json) -> None:
        self._components = components

    def of(self, schema: Json, name: str | None = None) -> Any:
        """A value valid against ``schema``; ``name`` is the property it is for, if any."""
        return self._value(schema, name, 0)

    def _resolve(self, schema: Json) -> Json:
        for _ in range(50):
            ref = schema.get("$ref")
            if not isinstance(ref, str):
                return schema
            if not ref.startswith("#/components/schemas/"):
                raise ValueError(f"cannot follow {ref!r}")
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**self._components[ref.rsplit("/", 1)[1]], **siblings}
        raise ValueError("$ref chain too long")

    def _value(self, raw: Json, name: str | None, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise ValueError("schema nests too deep for an example")
        schema = self._resolve(raw)
        if schema.get("examples"):
            return schema["examples"][0]
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        # an empty list or object default says less than one synthesized member
        if schema.get("default") not in (None, [], {}):
            return schema["default"]
        variants = schema.get("anyOf") or schema.get("oneOf")
        if variants and "properties" in schema:
            return self._constrained(schema, variants, name, depth)
        if variants:
            usable = [v for v in variants if self._resolve(v).get("type") != "null"]
            return self._value(usable[0] if usable else variants[0], name, depth + 1)
        if "allOf" in schema:
            merged: Json = {}
            for part in schema["allOf"]:
                merged.update(self._resolve(part))
            return self._value(merged, name, depth + 1)
        hint = FIELD_HINTS.get(name or "")
        if hint is not None and self._fits(schema, hint):
            return hint
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind is None:
            kind = "object" if "properties" in schema else "string"
        if kind == "object":
            return {prop: self._value(sub, prop, depth + 1)
                    for prop, sub in schema.get("properties", {}).items()}
        if kind == "array":
            count = max(1, int(schema.get("minItems", 1)))
            item = self._value(schema.get("items", {}), _singular(name), depth + 1)
            return [item] * count
        if kind == "string":
            return _string(schema)
        if kind in ("integer", "number"):
            return _number(schema, kind == "integer")
        if kind == "boolean":
            return True
        if kind == "null":
            return None
        raise ValueError(f"no example for a schema of type {kind!r}")

    def _constrained(self, schema: Json, variants: list[Json], name: str | None,
                     depth: int) -> Any:
        """An object whose properties ``anyOf``/``oneOf`` members constrain further (a purge
        naming at least one of its lists): the full example when it already meets one
        member, else the example with the first member's properties filled in."""
        base = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
        value = self._value(base, name, depth + 1)
        members = [self._resolve(v) for v in variants]
        met = sum(_meets(value, member) for member in members)
        if met == 1 or (met and "anyOf" in schema):
            return value
        for prop, sub in members[0].get("properties", {}).items():
            merged = {**base.get("properties", {}).get(prop, {}), **sub}
            value[prop] = self._value(merged, prop, depth + 1)
        return value

    def _fits(self, schema: Json, value: Any) -> bool:
        """Whether a hint satisfies the simple schema it would stand for."""
        kind = schema.get("type")
        if isinstance(value, list):
            items = self._resolve(schema.get("items", {}))
            return (kind == "array" and all(self._fits(items, v) for v in value)
                    and schema.get("minItems", 0) <= len(value)
                    <= schema.get("maxItems", len(value)))
        if not isinstance(value, str) or kind != "string" or "format" in schema:
            return False
        return _string_fits(schema, value)


def _meets(value: Any, member: Json) -> bool:
    """Whether an object example meets a union member's ``required`` and ``const``,
    ``enum`` and ``minItems`` on its properties (what such members constrain)."""
    if not isinstance(value, dict) or not set(member.get("required", ())) <= value.keys():
        return False
    for prop, rule in member.get("properties", {}).items():
        if prop not in value:
            continue
        got = value[prop]
        if "const" in rule and got != rule["const"]:
            return False
        if "enum" in rule and got not in rule["enum"]:
            return False
        if "minItems" in rule and (not isinstance(got, list) or len(got) < rule["minItems"]):
            return False
    return True


def _singular(name: str | None) -> str | None:
    return name[:-1] if name and name.endswith("s") else name


def _string_fits(schema: Json, value: str) -> bool:
    if not schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", len(value)):
        return False
    pattern = schema.get("pattern")
    return pattern is None or re.search(pattern, value) is not None


def _string(schema: Json) -> str:
    fmt = schema.get("format")
    if fmt is not None:
        if fmt not in FORMATS:
            raise ValueError(f"no example for string format {fmt!r}")
        value = FORMATS[fmt]
    elif "pattern" in schema:
        value = sample(schema["pattern"], schema.get("minLength", 0))
    else:
        value = "string"
    low, high = schema.get("minLength", 0), schema.get("maxLength")
    if len(value) < low and "pattern" not in schema and fmt is None:
        value = value.ljust(low, "x")
    if high is not None and len(value) > high and "pattern" not in schema and fmt is None:
        value = value[:high]
    if not _string_fits(schema, value):
        raise ValueError(f"no string example satisfies {schema}")
    return value


def _number(schema: Json, integer: bool) -> int | float:
    step = Decimal(str(schema.get("multipleOf", 1)))
    candidates = [Decimal(1)]
    for key in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        if key in schema:
            bound = Decimal(str(schema[key]))
            candidates += [bound, bound + step, bound - step]
    for value in candidates:
        if _number_fits(schema, value, integer, step):
            return int(value) if integer or value == value.to_integral() else float(value)
    raise ValueError(f"no number example satisfies {schema}")


def _number_fits(schema: Json, value: Decimal, integer: bool, step: Decimal) -> bool:
    if integer and value != value.to_integral():
        return False
    checks = (("minimum", value.__ge__), ("exclusiveMinimum", value.__gt__),
              ("maximum", value.__le__), ("exclusiveMaximum", value.__lt__))
    if not all(check(Decimal(str(schema[key]))) for key, check in checks if key in schema):
        return False
    return value % step == 0
