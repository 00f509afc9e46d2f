import dataclasses
import json
from pathlib import Path
from typing import Annotated

import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from pydantic import BaseModel, Field

from gateway.contracts.components import SCOPE_DESCRIPTIONS
from gateway.contracts.generator import (
    CONTRACTS_TAG,
    PLATFORM,
    build_document,
    document_names,
    documented,
    documents,
    package_version,
    problem_statuses,
    render,
)
from gateway.operations import CONTRACTS, Operation, operations
from gateway.schemas.common import SKU_PATTERN
from policies.auth.types import ALL_SCOPES
from policies.problems import PROBLEM_JSON
from tests.support.app import STOREFRONT, gateway

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "openapi"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _ops():
    # the table as wired, plus the contract routes in case they are not wired yet
    ops = operations()
    return ops + [op for op in CONTRACTS if op not in ops]


def _operation(doc, op):
    return doc["paths"][op.path][op.method.lower()]


def _header(doc, response, name):
    raw = response["headers"][name]
    return doc["components"]["headers"][raw["$ref"].rsplit("/", 1)[1]]


async def _noop(request):
    raise NotImplementedError


def test_there_is_one_document_per_api_version_and_one_for_the_platform():
    versions = sorted({op.version for op in operations() if op.version})
    assert document_names(_ops()) == [*versions, PLATFORM]
    assert versions == ["v1", "v2"]


@pytest.mark.parametrize("name", document_names(operations()))
def test_committed_document_is_what_the_code_generates(name):
    committed = (OPENAPI / f"{name}.json").read_text(encoding="utf-8")
    assert committed == render(build_document(name, _ops())), (
        f"openapi/{name}.json is stale: run erp-gateway openapi export")


@pytest.mark.parametrize("path", sorted([*OPENAPI.glob("*.json"),
                                         *OPENAPI.glob("released/*.json")]),
                         ids=lambda p: str(p.relative_to(OPENAPI)))
def test_every_document_is_valid_openapi_3_1(path):
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["openapi"].startswith("3.1.")
    validate(doc, cls=OpenAPIV31SpecValidator)


def test_generation_is_deterministic_whatever_the_table_order():
    ops = _ops()
    first = {n: render(d) for n, d in documents(ops).items()}
    assert first == {n: render(d) for n, d in documents(list(reversed(ops))).items()}
    assert all(text.endswith("}\n") and "\n  \"components\"" in text for text in first.values())


def test_every_operation_of_the_table_is_in_its_document():
    docs = documents(_ops())
    for op in documented(_ops()):
        doc = docs[op.version or PLATFORM]
        entry = _operation(doc, op)
        assert entry["operationId"] == op.operation_id
        assert entry["summary"] == op.summary and entry["tags"] == [op.tag]
        assert str(op.status) in entry["responses"]
        for other in docs.values():
            if other is not doc:
                assert op.method.lower() not in other["paths"].get(op.path, {})


def test_contract_routes_are_in_no_document():
    docs = documents(_ops())
    served = {op.path for op in CONTRACTS}
    assert all(op.tag == CONTRACTS_TAG and op.scope is None and op.version is None
               for op in CONTRACTS)
    for doc in docs.values():
        assert not served & doc["paths"].keys()


def test_info_names_the_api_version_and_the_package_version():
    for name, doc in documents(_ops()).items():
        assert doc["info"]["version"] == f"{name} (erp-gateway {package_version()})"
        assert doc["servers"] == [{"url": "/"}]


def test_security_schemes_are_oauth2_client_credentials_with_every_scope_and_an_api_key():
    schemes = documents(_ops())["v1"]["components"]["securitySchemes"]
    flow = schemes["oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == "/oauth/token"
    assert set(flow["scopes"]) == set(ALL_SCOPES) == set(SCOPE_DESCRIPTIONS)
    assert all(flow["scopes"].values())
    assert schemes["apiKey"] == {**schemes["apiKey"], "type": "apiKey", "in": "header",
                                 "name": "X-API-Key"}


def test_scoped_operations_accept_oauth2_with_their_scope_or_an_api_key_and_public_ones_nothing():
    docs = documents(_ops())
    for op in documented(_ops()):
        security = _operation(docs[op.version or PLATFORM], op)["security"]
        if op.scope is None:
            assert security == []
        else:
            assert security == [{"oauth2": [op.scope]}, {"apiKey": []}]


def test_parameters_come_from_the_params_models():
    doc = documents(_ops())["v1"]
    params = {p.get("name"): p for p in doc["paths"]["/v1/prices/{sku}"]["get"]["parameters"]}
    assert params["sku"]["in"] == "path" and params["sku"]["required"] is True
    assert params["sku"]["schema"]["pattern"] == SKU_PATTERN
    assert params["sku"]["description"] .startswith("Item code as the ERP knows it")
    assert params["sku"]["example"] == "SKU-0001"
    assert params["customer"]["in"] == "query" and params["customer"]["required"] is True
    assert params["quantity"]["required"] is False
    assert "title" not in params["sku"]["schema"]
    # the request id header is documented on every operation
    assert {"$ref": "#/components/parameters/RequestId"} in params.values()


def test_request_bodies_and_responses_reference_the_models():
    doc = documents(_ops())["v1"]
    query = doc["paths"]["/v1/inventory/query"]["post"]
    assert query["requestBody"]["required"] is True
    assert list(query["requestBody"]["content"]) == ["application/json"]
    body = query["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/InventoryQuery"}
    # the example starts from the models' own field examples (tests/contracts/test_examples.py)
    assert body["example"] == {"skus": ["SKU-0001"], "warehouses": ["WH-EAST"]}
    ok = query["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/InventoryListV1"}
    schemas = doc["components"]["schemas"]
    assert schemas["InventoryQuery"]["additionalProperties"] is False
    assert set(schemas["InventoryV1"]["required"]) == {"sku", "total_available", "warehouses",
                                                      "as_of"}
    # params models are inlined as parameters, not published as schemas
    assert "SkuPath" not in schemas and "PriceQuery" not in schemas


def test_problem_responses_are_problem_json_for_the_table_and_the_implied_statuses():
    docs = documents(_ops())
    for op in documented(_ops()):
        responses = _operation(docs[op.version or PLATFORM], op)["responses"]
        expected = set(op.problems) | {500}
        if op.scope:
            expected |= {401, 403, 429}
        if op.path_params or op.query or op.body:
            expected.add(422)
        if op.body:
            expected |= {400, 413, 415}
        if op.version:
            expected.add(410)
        assert expected <= {int(s) for s in responses}
        assert {str(s) for s in problem_statuses(op)} == set(responses) - {str(op.status)}
        for status in problem_statuses(op):
            media = responses[str(status)]["content"]
            if op.error_model is not None and status != 500:  # OAuth's own error shape
                assert list(media) == ["application/json"]
                continue
            assert list(media) == [PROBLEM_JSON]
            assert media[PROBLEM_JSON]["schema"] == PROBLEM_REF


def test_problem_schema_lists_field_errors_with_pointer_or_parameter():
    schemas = documents(_ops())["v1"]["components"]["schemas"]
    problem = schemas["Problem"]
    assert problem["required"] == ["type", "title", "status", "detail"]
    assert {"type", "title", "status", "detail", "instance", "errors"} == set(problem["properties"])
    assert set(schemas["ProblemError"]["properties"]) == {"pointer", "parameter", "in", "detail"}


def test_rate_limit_cache_deprecation_and_request_id_headers_are_documented():
    docs = documents(_ops())
    for op in documented(_ops()):
        doc = docs[op.version or PLATFORM]
        responses = _operation(doc, op)["responses"]
        for status, response in responses.items():
            headers = response["headers"]
            assert _header(doc, response, "X-Request-ID")["required"] is True
            assert ({"RateLimit-Policy", "RateLimit"} <= headers.keys()) == bool(op.scope)
            assert ({"Deprecation", "Sunset", "Link"} <= headers.keys()) == bool(op.version)
            if op.version:
                assert "only while this API version is deprecated" in _header(
                    doc, response, "Deprecation")["description"]
            cached = status == str(op.status) and op.cached
            assert ({"Cache-Status", "Age"} <= headers.keys()) == cached
        if "429" in responses:
            assert _header(doc, responses["429"], "Retry-After")["required"] is True
        if "503" in responses:
            assert "Retry-After" in responses["503"]["headers"]
        if "401" in responses:
            assert "WWW-Authenticate" in responses["401"]["headers"]


class _LabelRequest(BaseModel):
    carrier: str


class _KeyHeaders(BaseModel):
    key: Annotated[str, Field(alias="Idempotency-Key", min_length=1,
                              description="Makes retries safe")]


def _label_op(**changes):
    op = Operation("buyLabelV9", "POST", "/v9/labels", _noop, "Buy a label", "labels",
                   version="v9", scope="labels:write", body=_LabelRequest, headers=_KeyHeaders)
    return dataclasses.replace(op, **changes)


def test_required_headers_are_documented_as_required_header_parameters():
    doc = build_document("v9", [_label_op()])
    params = doc["paths"]["/v9/labels"]["post"]["parameters"]
    assert {"name": "Idempotency-Key", "in": "header", "required": True,
            "description": "Makes retries safe", "schema": {"type": "string", "minLength": 1},
            "example": "order-1001-box-1"} in params
    validate(doc, cls=OpenAPIV31SpecValidator)


def test_a_new_version_in_the_table_gets_its_own_document_without_generator_changes():
    names = document_names([*_ops(), _label_op()])
    assert names[-2:] == ["v9", PLATFORM]


def test_an_unknown_scope_is_refused():
    with pytest.raises(ValueError, match="unknown scope"):
        build_document("v9", [_label_op(scope="labels:burn")])


def test_a_path_template_must_match_its_params_model():
    with pytest.raises(ValueError, match="path_params model"):
        build_document("v9", [_label_op(path="/v9/labels/{label_id}")])


def test_two_operations_on_one_route_are_refused():
    with pytest.raises(ValueError, match="already"):
        build_document("v9", [_label_op(), _label_op(operation_id="buyLabelAgainV9")])


# -- served by the app -----------------------------------------------------------------------

WIRED = "the contract routes are not served: add CONTRACTS to gateway.operations.operations()"


@pytest.mark.parametrize("name", document_names(operations()))
async def test_served_document_is_the_committed_file_and_needs_no_credentials(name):
    async with gateway() as (_, client):
        response = await client.get(f"/openapi/{name}.json")
        assert response.status_code == 200, WIRED
        assert response.headers["content-type"] == "application/json"
        assert response.text == (OPENAPI / f"{name}.json").read_text(encoding="utf-8")
        again = await client.get(f"/openapi/{name}.json",
                                 headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


async def test_an_unknown_document_is_a_404_problem():
    async with gateway() as (_, client):
        response = await client.get("/openapi/v0.json")
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    assert "v1" in response.json()["detail"]


async def test_docs_page_and_its_assets_come_from_the_package_without_credentials():
    async with gateway() as (_, client):
        page = await client.get("/docs")
        assert page.status_code == 200, WIRED
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        names = " ".join(document_names(operations()))
        assert f'data-documents="{names}"' in page.text
        # nothing from a CDN: every URL the page loads is relative to the gateway
        assert "://" not in page.text
        for asset, media in (("docs.js", "text/javascript"), ("docs.css", "text/css")):
            assert f'docs/assets/{asset}?v=' in page.text
            response = await client.get(f"/docs/assets/{asset}")
            assert response.status_code == 200
            assert response.headers["content-type"].startswith(media)
            shipped = ROOT / "gateway" / "contracts" / "static" / asset
            assert response.text == shipped.read_text(encoding="utf-8")
            assert "://" not in response.text
        missing = await client.get("/docs/assets/secrets.txt")
    assert missing.status_code == 404
    # the operations are rendered by the script, not present in the static page
    assert "data-operation-id" not in page.text


async def test_the_api_itself_still_needs_credentials():
    # depends on the auth middleware: /docs and /openapi are public, the API is not
    async with gateway() as (_, client):
        anonymous = await client.get("/v1/inventory/SKU-0001")
        keyed = await client.get("/v1/inventory/SKU-0001", headers=STOREFRONT)
        docs = await client.get("/docs")
    assert docs.status_code == 200, WIRED
    assert keyed.status_code == 200
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == PROBLEM_JSON
