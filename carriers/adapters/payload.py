"""Reading carrier JSON replies, whose optional parts may be absent, null or one-or-many."""

from __future__ import annotations

from typing import Any

__all__ = ["as_list", "dig"]


def dig(node: Any, *path: str) -> Any:
    """``node[path[0]][path[1]]…``, or None where a step is missing or not an object."""
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def as_list(node: Any) -> list[Any]:
    """A list of what may be absent, one object, or a list (UPS sends either)."""
    if node is None:
        return []
    return node if isinstance(node, list) else [node]
