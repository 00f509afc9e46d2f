"""Examples of one operation: its request body, its success body and its problem bodies.

Bodies come from ``Examples`` over the document's schemas. Problem examples are RFC 9457
bodies as the gateway sends them (``type``, ``title``, ``status``, ``detail``, ``instance``
the example path); the 422 example is what validation really answers: the example input
with one value broken, run through the operation's own model and the same error mapping
(``policies.validation``) that serves requests.
"""

from __future__ import annotations

import http
import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from gateway.contracts.components import PROBLEM_NOTES, PROBLEM_TYPES, Json
from policies.problems import PROBLEM_BASE, ValidationFailed
from policies.validation import body_errors, param_errors, validation_failed

if TYPE_CHECKING:  # the table's handlers import the generator, which imports this module
    from gateway.operations import Operation

# values that break a string parameter, tried in turn until the params model refuses one
# (never an empty one: an empty path segment matches no route)
BROKEN_VALUES = ("not valid!", " leading-space", "x" * 300)


def example_path(op: Operation, params: dict[str, Any]) -> str:
    """The operation's path with its path parameters' example values filled in."""
    return re.sub(r"{([^}]+)}", lambda m: str(params.get(m.group(1), m.group(0))), op.path)


def _broken_body(model: type[BaseModel], body: Any) -> ValidationFailed | None:
    if not isinstance(body, dict):
        return None
    required = model.model_json_schema().get("required", [])
    candidates = [{k: v for k, v in body.items() if k != name} for name in required]
    candidates.append({**body, "unexpected_field": True})
    for candidate in candidates:
        try:
            model.model_validate(candidate)
        except ValidationError as exc:
            return validation_failed(body_errors(exc), exc.error_count())
    return None


def _broken_params(model: type[BaseModel], values: dict[str, Any], where: str
                   ) -> tuple[ValidationFailed, dict[str, Any]] | None:
    for name in values:
        for bad in BROKEN_VALUES:
            broken = {**values, name: bad}
            try:
                model.model_validate(broken)
            except ValidationError as exc:
                return validation_failed(param_errors(exc, where), exc.error_count()), broken
    return None


def validation_problem(op: Operation, params: dict[str, dict[str, Any]], body: Any
                       ) -> tuple[ValidationFailed, str]:
    """The 422 of this operation, made by its own models on its example input with one value
    broken, and the path of that broken request (the problem's ``instance``)."""
    path = params.get("path", {})
    model = op.body or (op.raw_body if op.raw_media_type == "application/json" else None)
    if model is not None:
        found = _broken_body(model, body)
        if found is not None:
            return found, example_path(op, path)
    for where, params_model in (("path", op.path_params), ("query", op.query),
                                ("header", op.headers)):
        if params_model is not None:
            broken = _broken_params(params_model, params.get(where, {}), where)
            if broken is not None:
                problem, values = broken
                return problem, example_path(op, values if where == "path" else path)
    fallback = ValidationFailed("#: the request cannot be carried out",
                                [{"pointer": "#", "detail": "the request cannot be carried out"}])
    return fallback, example_path(op, path)


def problem_example(op: Operation, status: int, instance: str,
                    invalid: tuple[ValidationFailed, str]) -> Json:
    """The problem body the gateway sends for ``status`` on this operation; ``invalid`` is
    what ``validation_problem`` made for its 422."""
    cls = PROBLEM_TYPES.get(status)
    if status == 422 and cls is ValidationFailed:
        problem, broken = invalid
        return problem.body(broken)
    title = cls.title if cls else http.HTTPStatus(status).phrase
    detail = PROBLEM_NOTES.get(status, title + ".").replace("`", "")
    return {"type": PROBLEM_BASE + cls.slug if cls else "about:blank", "title": title,
            "status": status, "detail": detail, "instance": instance}
