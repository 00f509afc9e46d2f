"""``erp-gateway openapi export | check | diff``.

- ``export [--dir openapi]`` writes every generated document (``v1.json``, ``v2.json``,
  ``platform.json``) and removes documents the code no longer generates.
- ``check [--dir openapi]`` exits 1 when a committed document differs from the generated
  one, is missing, or is no longer generated; it prints a unified diff per document.
- ``diff OLD NEW`` prints ``BREAKING <where>: <what>`` / ``change <where>: <what>`` lines
  and exits 1 on any breaking change. OLD and NEW are two documents, or two directories
  whose same-named documents are compared (``openapi/released openapi``).
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from gateway.contracts.diff import Change, diff
from gateway.contracts.generator import documents, render
from gateway.operations import Operation

DEFAULT_DIR = Path("openapi")
# lines of unified diff shown per differing document
DIFF_LINES = 60


def _operations() -> list[Operation]:
    # the route table imports the contract routes, which import this package
    import gateway.operations

    return gateway.operations.operations()


def generated(operations: Sequence[Operation]) -> dict[str, str]:
    """File name → committed text, for every document the route table produces."""
    return {f"{name}.json": render(doc) for name, doc in documents(operations).items()}


def _on_disk(directory: Path) -> set[str]:
    return {p.name for p in directory.glob("*.json")} if directory.is_dir() else set()


def export(directory: Path, operations: Sequence[Operation], out: TextIO = sys.stdout
           ) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    wanted = generated(operations)
    written = []
    for name, text in wanted.items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}", file=out)
        written.append(path)
    for stale in sorted(_on_disk(directory) - wanted.keys()):
        (directory / stale).unlink()
        print(f"removed {directory / stale} (no longer generated)", file=out)
    return written


def check(directory: Path, operations: Sequence[Operation], out: TextIO = sys.stdout,
          err: TextIO = sys.stderr) -> bool:
    """True when the committed documents are exactly what the code generates."""
    wanted = generated(operations)
    ok = True
    for name, text in wanted.items():
        path = directory / name
        version = name.removesuffix(".json")
        if not path.exists():
            print(f"{path}: missing: the code generates the {version} document "
                  f"(run erp-gateway openapi export)", file=err)
            ok = False
            continue
        committed = path.read_text(encoding="utf-8")
        if committed == text:
            print(f"{path}: up to date", file=out)
            continue
        ok = False
        lines = list(difflib.unified_diff(committed.splitlines(), text.splitlines(),
                                          f"{path} (committed)", f"{version} (generated)",
                                          lineterm=""))
        changed = sum(1 for line in lines if line[:1] in "+-" and line[:3] not in ("+++", "---"))
        print(f"{path}: differs from the generated {version} document ({changed} changed "
              f"lines; run erp-gateway openapi export)", file=err)
        for line in lines[:DIFF_LINES]:
            print(f"  {line}", file=err)
        if len(lines) > DIFF_LINES:
            print(f"  … {len(lines) - DIFF_LINES} more diff lines", file=err)
    for stale in sorted(_on_disk(directory) - wanted.keys()):
        print(f"{directory / stale}: the code no longer generates this document "
              f"(run erp-gateway openapi export)", file=err)
        ok = False
    return ok


def _load(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not an OpenAPI document")
    return data


def diff_paths(old: Path, new: Path) -> dict[str, list[Change]]:
    """Changes per compared document; a document missing from NEW is one breaking change."""
    if old.is_dir() != new.is_dir():
        raise ValueError("OLD and NEW must both be documents or both be directories")
    if not old.is_dir():
        return {f"{old} → {new}": diff(_load(old), _load(new))}
    out: dict[str, list[Change]] = {}
    for path in sorted(old.glob("*.json")):
        counterpart = new / path.name
        key = f"{path} → {counterpart}"
        if not counterpart.exists():
            out[key] = [Change(True, path.name, "document removed")]
        else:
            out[key] = diff(_load(path), _load(counterpart))
    return out


def load_accepted(path: Path | None) -> dict[tuple[str, str, str], str]:
    """Reviewed breaking changes: ``[{"document", "where", "what", "reason"}]`` → reason."""
    if path is None:
        return {}
    entries = json.loads(path.read_text(encoding="utf-8"))
    out: dict[tuple[str, str, str], str] = {}
    for i, entry in enumerate(entries):
        try:
            key = (entry["document"], entry["where"], entry["what"])
            reason = entry["reason"]
        except (KeyError, TypeError):
            raise ValueError(f"{path}[{i}]: needs document, where, what and reason") from None
        if not isinstance(reason, str) or not reason.strip():
            raise ValueError(f"{path}[{i}]: a reviewed change needs its reason")
        out[key] = reason
    return out


def _diff(args: argparse.Namespace, out: TextIO) -> int:
    results = diff_paths(Path(args.old), Path(args.new))
    accepted = load_accepted(args.accept)
    used: set[tuple[str, str, str]] = set()
    total = 0
    for title, changes in results.items():
        document = Path(title.split(" → ")[-1]).name
        if changes and len(results) > 1:
            print(f"--- {title}", file=out)
        count = 0
        for change in changes:
            key = (document, change.where, change.what)
            if change.breaking and key in accepted:
                used.add(key)
                print(f"accepted {change.where}: {change.what} ({accepted[key]})", file=out)
                continue
            print(change.line(), file=out)
            count += change.breaking
        total += count
        print(f"{title}: {count} breaking, {len(changes) - count} other change(s)", file=out)
    for key in sorted(accepted.keys() - used):
        # a reviewed change that no longer happens: the list must say only what is true
        print(f"STALE accepted change {key[0]} {key[1]}: {key[2]} (remove it)", file=out)
        total += 1
    return 1 if total else 0


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``openapi`` and its subcommands on the CLI's subparsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "openapi", help="export, check and diff the OpenAPI documents",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="openapi_command", required=True)
    export_cmd = sub.add_parser("export", help="write the generated documents")
    export_cmd.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    check_cmd = sub.add_parser("check", help="fail when the committed documents are stale")
    check_cmd.add_argument("--dir", type=Path, default=DEFAULT_DIR)
    diff_cmd = sub.add_parser("diff", help="report breaking changes from OLD to NEW")
    diff_cmd.add_argument("old", help="released document or directory")
    diff_cmd.add_argument("new", help="current document or directory")
    diff_cmd.add_argument("--accept", type=Path, default=None,
                          help="JSON list of reviewed breaking changes, each with its reason")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    command = args.openapi_command
    if command == "export":
        export(args.dir, _operations(), out)
        return 0
    if command == "check":
        return 0 if check(args.dir, _operations(), out, err) else 1
    if command == "diff":
        try:
            return _diff(args, out)
        except (OSError, ValueError) as exc:
            print(exc, file=err)
            return 2
    raise ValueError(f"unknown openapi command {command!r}")
