import argparse
import dataclasses
import io
import shutil
from pathlib import Path

import pytest
from pydantic import create_model

import gateway.routes
from gateway.api.common import InventoryQuery
from gateway.api.v1 import InventoryV1
from gateway.contracts.cli import add_parser, diff_paths, export, generated

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "openapi"
RELEASED = OPENAPI / "released"


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
    original = gateway.routes.operations()

    def install(ops):
        monkeypatch.setattr(gateway.routes, "operations", lambda: list(ops))
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


def test_released_copies_have_no_breaking_changes_against_the_current_documents():
    code, out, _ = cli("diff", str(RELEASED), str(OPENAPI))
    assert code == 0, out
    assert "BREAKING" not in out
    assert all(not [c for c in changes if c.breaking]
               for changes in diff_paths(RELEASED, OPENAPI).values())


def test_removing_a_response_field_fails_check_and_diff_reports_it_as_breaking(table, tmp_path):
    trimmed = _without_field(InventoryV1, "as_of")
    table(_replace(table.original, "getInventoryV1", response=trimmed))

    code, out, err = cli("check", "--dir", str(OPENAPI))
    assert code == 1
    assert "v1.json: differs from the generated v1 document" in err
    assert '"as_of"' in err  # the unified diff shows what changed
    assert "v2.json: up to date" in out

    assert cli("export", "--dir", str(tmp_path))[0] == 0
    code, out, _ = cli("diff", str(RELEASED / "v1.json"), str(tmp_path / "v1.json"))
    assert code == 1
    assert ("BREAKING GET /v1/inventory/{sku}#/responses/200/content/application~1json/schema"
            "/properties/as_of: response property removed") in out.splitlines()
    assert cli("diff", str(RELEASED / "v2.json"), str(tmp_path / "v2.json"))[0] == 0


def test_a_new_required_request_field_fails_check_and_diff_reports_it_as_breaking(
        table, tmp_path):
    table(_replace(table.original, "queryInventoryV1", body=InventoryQueryWithChannel))

    code, _, err = cli("check", "--dir", str(OPENAPI))
    assert code == 1 and "v1.json: differs" in err

    export(tmp_path, gateway.routes.operations(), io.StringIO())
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
    export(tmp_path, gateway.routes.operations(), io.StringIO())
    (tmp_path / "v0.json").write_text("{}\n")
    code, _, err = cli("check", "--dir", str(tmp_path))
    assert code == 1 and "v0.json: the code no longer generates this document" in err


def test_export_writes_the_committed_form_and_removes_stale_documents(tmp_path):
    (tmp_path / "v0.json").write_text("{}\n")
    code, out, _ = cli("export", "--dir", str(tmp_path))
    assert code == 0 and "removed" in out
    assert not (tmp_path / "v0.json").exists()
    for name, text in generated(gateway.routes.operations()).items():
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
