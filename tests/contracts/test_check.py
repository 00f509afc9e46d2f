import argparse
import dataclasses
import io
import json
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import create_model

import gateway.operations
from gateway.contracts.cli import add_parser, diff_paths, export, generated, load_accepted
from gateway.schemas.common import SKU_PATTERN, InventoryQuery
from gateway.schemas.v1 import InventoryV1

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "openapi"
RELEASED = OPENAPI / "released"
REVIEWED = OPENAPI / "reviewed" / "breaking-changes.json"
# the item-code pattern of the released documents (widened since: spaces and slashes inside)
RELEASED_SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$"


def cli(*argv):
    """``erp-gateway openapi …`` in-process; returns (exit code, stdout, stderr)."""
    root = argparse.ArgumentParser(prog="erp-gateway")
    add_parser(root.add_subparsers(dest="command", required=True))
    args = root.parse_args(["openapi", *argv])
    out, err = io.StringIO(), io.StringIO()
    code = args.run(args, out, err)
    return code, out.getvalue(), err.getvalue()


def _replace(ops, operation_id, **changes):
    assert operation_id in {op.operation_id for op in ops}
    return [dataclasses.replace(op, **changes) if op.operation_id == operation_id else op
            for op in ops]


@pytest.fixture
def table(monkeypatch):
    """Swap the route table the CLI reads; returns a function that installs a mutated one."""
    original = gateway.operations.operations()

    def install(ops):
        monkeypatch.setattr(gateway.operations, "operations", lambda: list(ops))
        return ops

    install.original = original
    return install


def _without_field(model, field):
    fields = {name: (info.annotation, info) for name, info in model.model_fields.items()
              if name != field}
    return create_model(model.__name__, __module__=__name__, **fields)


class InventoryQueryWithChannel(InventoryQuery):
    channel: str


def test_check_passes_on_the_committed_documents():
    code, out, err = cli("check", "--dir", str(OPENAPI))
    assert code == 0, err
    assert "v1.json: up to date" in out and "v2.json: up to date" in out


def test_released_copies_have_no_unreviewed_breaking_changes_against_the_current_documents():
    code, out, _ = cli("diff", str(RELEASED), str(OPENAPI), "--accept", str(REVIEWED))
    assert code == 0, out
    assert "BREAKING" not in out and "STALE" not in out
    reviewed = load_accepted(REVIEWED)
    for title, changes in diff_paths(RELEASED, OPENAPI).items():
        document = Path(title.split(" → ")[-1]).name
        assert all((document, c.where, c.what) in reviewed for c in changes if c.breaking)


def test_without_the_reviewed_list_the_same_changes_are_breaking():
    code, out, _ = cli("diff", str(RELEASED), str(OPENAPI))
    assert code == 1
    assert out.count("BREAKING") == len(load_accepted(REVIEWED))


def test_a_reviewed_change_that_no_longer_happens_is_reported_stale(tmp_path):
    stale = [{"document": "v1.json", "where": "GET /v1/nowhere", "what": "operation removed",
              "reason": "an entry for a change the documents do not make"}]
    listing = tmp_path / "reviewed.json"
    listing.write_text(json.dumps(stale), encoding="utf-8")
    code, out, _ = cli("diff", str(RELEASED / "v1.json"), str(OPENAPI / "v1.json"),
                       "--accept", str(listing))
    assert code == 1
    assert "STALE accepted change v1.json GET /v1/nowhere: operation removed" in out


def test_a_reviewed_change_needs_a_reason(tmp_path):
    listing = tmp_path / "reviewed.json"
    listing.write_text(json.dumps([{"document": "v1.json", "where": "x", "what": "y",
                                    "reason": " "}]), encoding="utf-8")
    with pytest.raises(ValueError, match="needs its reason"):
        load_accepted(listing)


@settings(max_examples=300, database=None, derandomize=True)
@given(st.from_regex(RELEASED_SKU_PATTERN, fullmatch=True))
def test_the_item_code_pattern_only_widened(code):
    # the reviewed list calls the SKU pattern change a widening: every old code still passes
    assert re.fullmatch(SKU_PATTERN, code)


def test_removing_a_response_field_fails_check_and_diff_reports_it_as_breaking(table, tmp_path):
    trimmed = _without_field(InventoryV1, "as_of")
    table(_replace(table.original, "getInventoryV1", response=trimmed))

    code, out, err = cli("check", "--dir", str(OPENAPI))
    assert code == 1
    assert "v1.json: differs from the generated v1 document" in err
    assert '"as_of"' in err  # the unified diff shows what changed
    assert "v2.json: up to date" in out

    assert cli("export", "--dir", str(tmp_path))[0] == 0
    code, out, _ = cli("diff", str(RELEASED / "v1.json"), str(tmp_path / "v1.json"),
                       "--accept", str(REVIEWED))
    assert code == 1
    assert ("BREAKING GET /v1/inventory/{sku}#/responses/200/content/application~1json/schema"
            "/properties/as_of: response property removed") in out.splitlines()
    reviewed_v2 = tmp_path / "reviewed-v2.json"
    reviewed_v2.write_text(json.dumps([e for e in json.loads(REVIEWED.read_text("utf-8"))
                                       if e["document"] == "v2.json"]), encoding="utf-8")
    assert cli("diff", str(RELEASED / "v2.json"), str(tmp_path / "v2.json"),
               "--accept", str(reviewed_v2))[0] == 0


def test_a_new_required_request_field_fails_check_and_diff_reports_it_as_breaking(
        table, tmp_path):
    table(_replace(table.original, "queryInventoryV1", body=InventoryQueryWithChannel))

    code, _, err = cli("check", "--dir", str(OPENAPI))
    assert code == 1 and "v1.json: differs" in err

    export(tmp_path, gateway.operations.operations(), io.StringIO())
    code, out, _ = cli("diff", str(RELEASED), str(tmp_path))
    assert code == 1
    assert ("BREAKING POST /v1/inventory/query#/requestBody/content/application~1json/schema"
            "/properties/channel: new required request property") in out.splitlines()


def test_check_fails_when_a_generated_document_is_not_on_disk(tmp_path):
    shutil.copy(OPENAPI / "v1.json", tmp_path / "v1.json")
    code, _, err = cli("check", "--dir", str(tmp_path))
    assert code == 1
    assert f"{tmp_path / 'v2.json'}: missing: the code generates the v2 document" in err


def test_check_fails_on_a_document_the_code_no_longer_generates(tmp_path):
    export(tmp_path, gateway.operations.operations(), io.StringIO())
    (tmp_path / "v0.json").write_text("{}\n")
    code, _, err = cli("check", "--dir", str(tmp_path))
    assert code == 1 and "v0.json: the code no longer generates this document" in err


def test_export_writes_the_committed_form_and_removes_stale_documents(tmp_path):
    (tmp_path / "v0.json").write_text("{}\n")
    code, out, _ = cli("export", "--dir", str(tmp_path))
    assert code == 0 and "removed" in out
    assert not (tmp_path / "v0.json").exists()
    for name, text in generated(gateway.operations.operations()).items():
        assert (tmp_path / name).read_text(encoding="utf-8") == text
        assert (OPENAPI / name).read_text(encoding="utf-8") == text
    assert cli("check", "--dir", str(tmp_path))[0] == 0


def test_diff_treats_a_removed_document_as_breaking(tmp_path):
    shutil.copy(OPENAPI / "v2.json", tmp_path / "v2.json")
    code, out, _ = cli("diff", str(RELEASED), str(tmp_path))
    assert code == 1
    assert "BREAKING v1.json: document removed" in out.splitlines()


def test_diff_of_unreadable_input_is_a_usage_error(tmp_path):
    (tmp_path / "broken.json").write_text("{")
    code, _, err = cli("diff", str(tmp_path / "broken.json"), str(OPENAPI / "v1.json"))
    assert code == 2 and err
    code, _, err = cli("diff", str(RELEASED), str(OPENAPI / "v1.json"))
    assert code == 2 and "both" in err
