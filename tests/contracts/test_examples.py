"""Every example in the generated documents is valid against its own schema, and the 422
example is what the running gateway really answers."""

import re
from urllib.parse import quote

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from gateway.contracts.components import PROBLEM_NOTES
from gateway.contracts.examples import Examples
from gateway.contracts.generator import document_names, documents
from gateway.contracts.pattern import sample
from gateway.operations import operations
from policies.problems import PROBLEM_BASE, PROBLEM_JSON
from tests.support.app import ADMIN, STOREFRONT, WAREHOUSE, gateway

DOCS = documents(operations())
METHODS = {"get", "put", "post", "patch", "delete"}


def _operations(name):
    for path, item in DOCS[name]["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def _check(doc, schema, value):
    """Validate ``value`` against ``schema`` with the document's components in reach."""
    root = {**schema, "components": doc["components"]}
    validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
    validator.validate(value)


def _param(doc, raw):
    if "$ref" in raw:
        return doc["components"]["parameters"][raw["$ref"].rsplit("/", 1)[1]]
    return raw


@pytest.mark.parametrize("name", document_names(operations()))
def test_every_operation_has_request_response_and_problem_examples_valid_against_their_schema(
        name):
    doc = DOCS[name]
    checked = 0
    for path, method, op in _operations(name):
        where = f"{method.upper()} {path}"
        for media_type, media in op.get("requestBody", {}).get("content", {}).items():
            assert "example" in media, f"{where}: no {media_type} request example"
            _check(doc, media["schema"], media["example"])
            checked += 1
        for param in map(lambda raw: _param(doc, raw), op["parameters"]):
            if param.get("required"):
                assert "example" in param, f"{where}: parameter {param['name']} has no example"
            if "example" in param:
                _check(doc, param["schema"], param["example"])
        for status, response in op["responses"].items():
            for media_type, media in response.get("content", {}).items():
                if media_type == "*/*":
                    continue  # no model: the body is not part of the contract
                assert "example" in media, f"{where} {status}: no {media_type} example"
                _check(doc, media["schema"], media["example"])
                checked += 1
                if media_type == PROBLEM_JSON:
                    problem = media["example"]
                    assert problem["status"] == int(status)
                    assert problem["type"].startswith(PROBLEM_BASE)
                    assert problem["instance"].startswith("/") and "{" not in problem["instance"]
    assert checked > len(list(_operations(name)))


def test_a_wrong_example_fails_the_schema_check():
    """The check above can fail: a price without its currency is refused."""
    doc = DOCS["v2"]
    media = doc["paths"]["/v2/prices/{sku}"]["get"]["responses"]["200"]["content"][
        "application/json"]
    broken = {**media["example"], "unit_price": {"amount": "12.50"}}
    with pytest.raises(ValidationError, match="currency"):
        _check(doc, media["schema"], broken)


def test_problem_examples_carry_the_type_of_their_status():
    problems = DOCS["v1"]["paths"]["/v1/inventory/{sku}"]["get"]["responses"]
    unauthorized = problems["401"]["content"][PROBLEM_JSON]["example"]
    assert unauthorized == {"type": PROBLEM_BASE + "unauthorized", "title": "Unauthorized",
                            "status": 401, "detail": PROBLEM_NOTES[401],
                            "instance": "/v1/inventory/SKU-0001"}
    gone = problems["410"]["content"][PROBLEM_JSON]["example"]
    assert gone["type"] == PROBLEM_BASE + "gone"


@pytest.mark.parametrize(("path", "key"), [("/v1/inventory/query", STOREFRONT),
                                            ("/v2/prices/query", STOREFRONT),
                                            ("/v1/shipping/rates", WAREHOUSE)])
async def test_the_422_example_is_what_the_gateway_answers_to_the_broken_example(path, key):
    version = path.split("/")[1]
    op = DOCS[version]["paths"][path]["post"]
    good = op["requestBody"]["content"]["application/json"]["example"]
    problem = op["responses"]["422"]["content"][PROBLEM_JSON]["example"]
    missing = problem["errors"][0]["pointer"].removeprefix("#/")
    assert missing in good
    broken = {k: v for k, v in good.items() if k != missing}
    async with gateway() as (_, client):
        answer = await client.post(path, json=broken, headers=key)
    assert answer.status_code == 422
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert answer.json() == problem


@pytest.mark.parametrize(("version", "path", "key"), [
    ("v1", "/v1/inventory/{sku}", STOREFRONT), ("v2", "/v2/prices/{sku}", STOREFRONT),
    ("v1", "/v1/shipping/labels/{label_id}", WAREHOUSE),
    ("v2", "/v2/shipping/tracking/{carrier}/{tracking_number}", WAREHOUSE)])
async def test_the_422_example_of_a_path_parameter_is_what_the_gateway_answers(version, path,
                                                                              key):
    op = DOCS[version]["paths"][path]["get"]
    problem = op["responses"]["422"]["content"][PROBLEM_JSON]["example"]
    assert problem["errors"][0]["in"] == "path"
    query = {p["name"]: p["example"] for p in op["parameters"] if p.get("in") == "query"}
    async with gateway() as (_, client):
        answer = await client.get(quote(problem["instance"]), params=query, headers=key)
    assert answer.status_code == 422
    assert answer.json() == problem


async def test_the_request_examples_are_accepted_by_the_demo_gateway():
    """The try-it-out forms start from these examples, so on the demo they succeed."""
    v1 = DOCS["v1"]["paths"]
    async with gateway() as (_, client):
        inventory = v1["/v1/inventory/{sku}"]["get"]
        sku = next(p["example"] for p in inventory["parameters"] if p.get("name") == "sku")
        one = await client.get(f"/v1/inventory/{sku}", headers=STOREFRONT)
        query = v1["/v1/inventory/query"]["post"]["requestBody"]["content"]["application/json"]
        many = await client.post("/v1/inventory/query", json=query["example"],
                                 headers=STOREFRONT)
        rates = v1["/v1/shipping/rates"]["post"]["requestBody"]["content"]["application/json"]
        shop = await client.post("/v1/shipping/rates", json=rates["example"], headers=WAREHOUSE)
        notice = DOCS["platform"]["paths"]["/admin/cache/purge"]["post"]["requestBody"][
            "content"]["application/json"]["example"]
        purge = await client.post("/admin/cache/purge", json=notice, headers=ADMIN)
    assert one.status_code == 200 and one.json()["sku"] == sku
    assert many.status_code == 200 and [i["sku"] for i in many.json()["items"]] == ["SKU-0001"]
    assert shop.status_code == 200 and shop.json()["rates"], shop.text
    assert notice["skus"] and purge.status_code == 200, purge.text


def _patterns(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                yield value
            else:
                yield from _patterns(value)
    elif isinstance(node, list):
        for item in node:
            yield from _patterns(item)


@pytest.mark.parametrize("pattern", sorted({p for doc in DOCS.values() for p in _patterns(doc)}))
def test_pattern_samples_match_their_pattern(pattern):
    assert re.search(pattern, sample(pattern))


@pytest.mark.parametrize(("pattern", "min_length", "expected"), [
    (r"^-?\d+(\.\d+)?$", 0, "1"),
    (r"^(ab|cd)[^a-z]x*$", 0, "abA"),
    (r"^a?b?c?$", 2, "abc"),
    (r"^[\]x]{2}$", 0, "]]"),
    (r"^[\x21-\x7e]{1,255}$", 0, "!"),
    (r"^(?=[0-9]*[1-9])[0-9]+$", 0, "9"),  # the first member fails the lookahead
])
def test_pattern_samples_take_the_shortest_way_through(pattern, min_length, expected):
    assert sample(pattern, min_length) == expected


@pytest.mark.parametrize("pattern", [r"^(a)\1$", r"^(?P<x>a)$", r"^\p{L}$", r"^[a-z", r"^(a$",
                                     r"^a)$"])
def test_unsupported_or_broken_patterns_raise(pattern):
    with pytest.raises(ValueError):
        sample(pattern)


def test_examples_respect_numeric_bounds_and_steps():
    examples = Examples({})
    assert examples.of({"type": "number", "exclusiveMinimum": 0, "maximum": 1000}) == 1
    assert examples.of({"type": "integer", "minimum": 5}) == 5
    assert examples.of({"type": "number", "exclusiveMaximum": 1, "multipleOf": 0.25,
                        "minimum": 0}) == 0
    with pytest.raises(ValueError):
        examples.of({"type": "integer", "minimum": 2, "maximum": 1})


def test_field_hints_yield_to_the_schema():
    examples = Examples({})
    assert examples.of({"type": "string"}, "country") == "US"
    # a hint that does not fit the field's pattern is not used
    assert examples.of({"type": "string", "pattern": "^[a-z]{3}$"}, "country") == "aaa"
    assert examples.of({"type": "string", "examples": ["DE"]}, "country") == "DE"


def test_union_members_that_only_constrain_an_object_keep_its_full_example():
    examples = Examples({})
    lists = {"type": "object", "properties": {
        "all": {"type": "boolean", "default": False},
        "skus": {"type": "array", "items": {"type": "string"}, "default": []}}}
    purge = {**lists, "anyOf": [{"required": ["all"], "properties": {"all": {"const": True}}},
                                {"required": ["skus"], "properties": {"skus": {"minItems": 1}}}]}
    # the full example already names a SKU, so it does not turn into "purge everything"
    assert examples.of(purge) == {"all": False, "skus": ["SKU-0001"]}
    only_all = {**lists, "anyOf": purge["anyOf"][:1]}
    assert examples.of(only_all) == {"all": True, "skus": ["SKU-0001"]}
