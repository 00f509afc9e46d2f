import copy

import pytest

from gateway.contracts.diff import Change, diff

SECURITY = [{"oauth2": ["inventory:read"]}, {"apiKey": []}]


def document(item_schema=None, request_schema=None, params=None, status="200", security=None,
             headers=None, extra_schemas=None):
    """A one-operation document: POST /v1/items/{sku} with a body, a response and a problem."""
    item = {"type": "object", "required": ["sku", "quantity"], "properties": {
        "sku": {"type": "string"},
        "quantity": {"type": "integer", "minimum": 0},
        "status": {"type": "string", "enum": ["active", "retired"]},
    }}
    request = {"type": "object", "additionalProperties": False, "required": ["skus"],
               "properties": {
                   "skus": {"type": "array", "maxItems": 100,
                            "items": {"type": "string", "maxLength": 64, "pattern": "^[A-Z]"}},
                   "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                   "mode": {"type": "string", "enum": ["fast", "full"]},
               }}
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "paths": {"/v1/items/{sku}": {"post": {
            "operationId": "postItem",
            "parameters": params if params is not None else [
                {"name": "sku", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "limit", "in": "query", "required": False,
                 "schema": {"type": "integer", "maximum": 50}},
            ],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Request"}}}},
            "responses": {
                status: {"description": "ok",
                         "headers": headers if headers is not None else {
                             "X-Request-ID": {"required": True, "schema": {"type": "string"}}},
                         "content": {"application/json": {
                             "schema": {"$ref": "#/components/schemas/Item"}}}},
                "404": {"description": "nf", "content": {"application/problem+json": {
                    "schema": {"type": "object"}}}},
            },
            "security": SECURITY if security is None else security,
        }}},
        "components": {
            "schemas": {"Item": item_schema or item, "Request": request_schema or request,
                        **(extra_schemas or {})},
            "securitySchemes": {
                "oauth2": {"type": "oauth2", "flows": {"clientCredentials": {
                    "tokenUrl": "/oauth/token",
                    "scopes": {"inventory:read": "r", "admin": "a"}}}},
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
            },
        },
    }


OLD = document()
OP = "POST /v1/items/{sku}#"
ITEM = OP + "/responses/200/content/application~1json/schema"
BODY = OP + "/requestBody/content/application~1json/schema"


def changed(mutate):
    new = copy.deepcopy(OLD)
    mutate(new)
    return diff(OLD, new)


def schemas(doc):
    return doc["components"]["schemas"]


def operation(doc):
    return doc["paths"]["/v1/items/{sku}"]["post"]


def lines(changes):
    return [c.line() for c in changes]


def breaking(changes):
    return [c.line() for c in changes if c.breaking]


def test_identical_documents_have_no_changes():
    assert diff(OLD, copy.deepcopy(OLD)) == []


def test_change_line_format():
    assert Change(True, "GET /x#/a", "gone").line() == "BREAKING GET /x#/a: gone"
    assert Change(False, "GET /x#/a", "new").line() == "change GET /x#/a: new"


# -- operations ----------------------------------------------------------------------------

def test_removed_operation_is_breaking_and_an_added_one_is_not():
    changes = changed(lambda d: d["paths"].update({"/v1/other": d["paths"].pop("/v1/items/{sku}")}))
    assert breaking(changes) == ["BREAKING POST /v1/items/{sku}: operation removed"]
    assert "change POST /v1/other: operation added" in lines(changes)


def test_renaming_a_path_parameter_is_the_same_operation():
    def rename(d):
        item = d["paths"].pop("/v1/items/{sku}")
        item["post"]["parameters"][0]["name"] = "code"
        d["paths"]["/v1/items/{code}"] = item
    assert not [c for c in changed(rename) if "operation" in c.what]


# -- response properties --------------------------------------------------------------------

def test_removed_response_property_is_breaking():
    changes = changed(lambda d: schemas(d)["Item"]["properties"].pop("status"))
    assert breaking(changes) == [
        f"BREAKING {ITEM}/properties/status: response property removed"]


def test_response_property_becoming_optional_is_breaking_and_required_is_not():
    assert breaking(changed(lambda d: schemas(d)["Item"]["required"].remove("quantity"))) == [
        f"BREAKING {ITEM}/properties/quantity: response property no longer required "
        "(may be absent)"]
    changes = changed(lambda d: schemas(d)["Item"]["required"].append("status"))
    assert not breaking(changes) and changes


def test_added_response_property_is_not_breaking():
    changes = changed(lambda d: schemas(d)["Item"]["properties"].update(
        {"weight": {"type": "number"}}))
    assert lines(changes) == [f"change {ITEM}/properties/weight: response property added"]


def test_response_widened_to_null_or_integer_to_number_is_breaking():
    changes = changed(lambda d: schemas(d)["Item"]["properties"].update(
        {"sku": {"anyOf": [{"type": "string"}, {"type": "null"}]}}))
    assert breaking(changes) == [f"BREAKING {ITEM}/properties/sku: may now be null"]
    changes = changed(lambda d: schemas(d)["Item"]["properties"]["quantity"].update(
        {"type": "number"}))
    assert breaking(changes) == [
        f"BREAKING {ITEM}/properties/quantity: type widened from integer to number"]


def test_response_narrowed_is_not_breaking():
    changes = changed(lambda d: schemas(d)["Item"]["properties"]["quantity"].update(
        {"maximum": 10}))
    assert changes and not breaking(changes)


def test_changed_type_is_breaking_in_a_response():
    changes = changed(lambda d: schemas(d)["Item"]["properties"]["quantity"].update(
        {"type": "string"}))
    assert breaking(changes) == [
        f"BREAKING {ITEM}/properties/quantity: type changed from integer to string"]


def test_enum_values_added_to_a_response_are_breaking_and_removed_ones_are_not():
    changes = changed(lambda d: schemas(d)["Item"]["properties"]["status"]["enum"].append("lost"))
    assert breaking(changes) == [
        f'BREAKING {ITEM}/properties/status: enum values may now be returned: "lost"']
    changes = changed(
        lambda d: schemas(d)["Item"]["properties"]["status"]["enum"].remove("retired"))
    assert changes and not breaking(changes)


def test_response_comparison_follows_refs_into_nested_components():
    def nest(d):
        schemas(d)["Item"]["properties"]["warehouse"] = {"$ref": "#/components/schemas/Wh"}
        schemas(d)["Wh"] = {"type": "object", "required": ["code"],
                            "properties": {"code": {"type": "string"}}}
    before = copy.deepcopy(OLD)
    nest(before)
    after = copy.deepcopy(before)
    # renamed component, same shape: nothing to report
    after["components"]["schemas"]["Warehouse"] = after["components"]["schemas"].pop("Wh")
    schemas(after)["Item"]["properties"]["warehouse"] = {"$ref": "#/components/schemas/Warehouse"}
    assert diff(before, after) == []
    schemas(after)["Warehouse"]["properties"].pop("code")
    assert breaking(diff(before, after)) == [
        f"BREAKING {ITEM}/properties/warehouse/properties/code: response property removed"]


def test_recursive_models_terminate():
    node = {"type": "object", "properties": {
        "name": {"type": "string"},
        "children": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}}
    before = document(item_schema=node)
    after = copy.deepcopy(before)
    schemas(after)["Item"]["properties"].pop("name")
    assert breaking(diff(before, after)) == [
        f"BREAKING {ITEM}/properties/name: response property removed"]


# -- request properties and parameters --------------------------------------------------------

def test_new_required_request_property_is_breaking_and_an_optional_one_is_not():
    def add(required):
        def mutate(d):
            schemas(d)["Request"]["properties"]["channel"] = {"type": "string"}
            if required:
                schemas(d)["Request"]["required"].append("channel")
        return mutate
    assert breaking(changed(add(True))) == [
        f"BREAKING {BODY}/properties/channel: new required request property"]
    assert lines(changed(add(False))) == [
        f"change {BODY}/properties/channel: request property added"]


def test_optional_request_property_becoming_required_is_breaking():
    assert breaking(changed(lambda d: schemas(d)["Request"]["required"].append("mode"))) == [
        f"BREAKING {BODY}/properties/mode: request property became required"]


def test_removed_request_property_is_breaking_only_when_unknown_fields_are_rejected():
    assert breaking(changed(lambda d: schemas(d)["Request"]["properties"].pop("note"))) == [
        f"BREAKING {BODY}/properties/note: request property removed and unknown properties "
        "are rejected"]

    def open_and_remove(d):
        schemas(d)["Request"]["properties"].pop("note")
        schemas(d)["Request"]["additionalProperties"] = True
    assert not breaking(changed(open_and_remove))


def test_request_rejecting_additional_properties_is_breaking():
    before = copy.deepcopy(OLD)
    schemas(before)["Request"].pop("additionalProperties")
    assert breaking(diff(before, OLD)) == [
        f"BREAKING {BODY}/additionalProperties: additional properties no longer accepted"]
    assert not breaking(diff(OLD, before))


def test_new_required_parameter_is_breaking_and_an_optional_one_is_not():
    def add(required):
        return lambda d: operation(d)["parameters"].append(
            {"name": "customer", "in": "query", "required": required, "schema": {"type": "string"}})
    assert breaking(changed(add(True))) == [
        f"BREAKING {OP}/parameters/query/customer: new required parameter"]
    assert not breaking(changed(add(False)))


def test_parameter_becoming_required_is_breaking():
    changes = changed(lambda d: operation(d)["parameters"][1].update({"required": True}))
    assert breaking(changes) == [f"BREAKING {OP}/parameters/query/limit: parameter became required"]


def test_removed_parameter_is_not_breaking():
    changes = changed(lambda d: operation(d)["parameters"].pop(1))
    assert lines(changes) == [f"change {OP}/parameters/query/limit: parameter removed"]


def test_request_type_change_or_narrowing_is_breaking_and_widening_is_not():
    def nullable_gone(d):
        schemas(d)["Request"]["properties"]["note"] = {"type": "string"}
    assert breaking(changed(nullable_gone)) == [
        f"BREAKING {BODY}/properties/note: type null no longer accepted"]
    assert breaking(changed(lambda d: operation(d)["parameters"][1]["schema"].update(
        {"type": "string"}))) == [
        f"BREAKING {OP}/parameters/query/limit/schema: type changed from integer to string"]
    widened = changed(lambda d: operation(d)["parameters"][1]["schema"].update({"type": "number"}))
    assert widened == [] or not breaking(widened)


def test_enum_values_removed_from_a_request_are_breaking_and_added_ones_are_not():
    assert breaking(changed(lambda d: schemas(d)["Request"]["properties"]["mode"]["enum"].remove(
        "full"))) == [f'BREAKING {BODY}/properties/mode: enum values no longer accepted: "full"']
    changes = changed(lambda d: schemas(d)["Request"]["properties"]["mode"]["enum"].append("x"))
    assert lines(changes) == [f'change {BODY}/properties/mode: enum values added: "x"']


def test_enum_added_to_a_request_is_breaking():
    assert breaking(changed(lambda d: schemas(d)["Request"]["properties"]["note"]["anyOf"][0]
                            .update({"enum": ["a"]}))) == [
        f'BREAKING {BODY}/properties/note: enum restriction added: "a"']


@pytest.mark.parametrize(("keyword", "before", "after", "is_breaking"), [
    ("maxLength", 64, 32, True),
    ("maxLength", 64, 128, False),
    ("minLength", None, 2, True),
    ("minLength", 2, None, False),
    ("pattern", "^[A-Z]", "^[A-Z]{2}", True),
    ("pattern", "^[A-Z]", None, False),
])
def test_string_constraints_narrowed_on_a_request_are_breaking(keyword, before, after, is_breaking):
    old, new = copy.deepcopy(OLD), copy.deepcopy(OLD)
    for doc, value in ((old, before), (new, after)):
        target = schemas(doc)["Request"]["properties"]["skus"]["items"]
        target.pop(keyword, None)
        if value is not None:
            target[keyword] = value
    changes = diff(old, new)
    assert [c.breaking for c in changes] == [is_breaking]
    assert changes[0].where == f"{BODY}/properties/skus/items"


@pytest.mark.parametrize(("keyword", "after", "is_breaking"), [
    ("maximum", 10, True), ("maximum", 100, False), ("minimum", 1, True),
    ("exclusiveMinimum", 0, True),
])
def test_numeric_constraints_narrowed_on_a_parameter_are_breaking(keyword, after, is_breaking):
    changes = changed(lambda d: operation(d)["parameters"][1]["schema"].update({keyword: after}))
    assert [c.breaking for c in changes] == [is_breaking]


def test_max_items_lowered_on_a_request_is_breaking():
    changes = changed(
        lambda d: schemas(d)["Request"]["properties"]["skus"].update({"maxItems": 10}))
    assert breaking(changes) == [
        f"BREAKING {BODY}/properties/skus: maxItems lowered from 100 to 10"]


def test_request_body_becoming_required_or_losing_its_media_type_is_breaking():
    before = copy.deepcopy(OLD)
    operation(before)["requestBody"]["required"] = False
    assert breaking(diff(before, OLD)) == [
        f"BREAKING {OP}/requestBody: request body became required"]
    changes = changed(lambda d: operation(d)["requestBody"].update(
        {"content": {"application/xml": {"schema": {}}}}))
    assert f"BREAKING {OP}/requestBody/content/application~1json: request media type no longer " \
           "accepted" in breaking(changes)


# -- statuses, headers, security ------------------------------------------------------------

def test_changed_success_status_is_breaking():
    changes = diff(OLD, document(status="201"))
    assert breaking(changes) == [
        f"BREAKING {OP}/responses/200: success status 200 removed (success is now 201)"]


def test_new_error_status_is_not_breaking():
    changes = changed(lambda d: operation(d)["responses"].update(
        {"409": {"description": "conflict"}}))
    assert lines(changes) == [f"change {OP}/responses/409: response 409 added"]


def test_response_media_type_removed_is_breaking():
    changes = changed(lambda d: operation(d)["responses"]["200"].update(
        {"content": {"text/plain": {"schema": {}}}}))
    assert f"BREAKING {OP}/responses/200/content/application~1json: response media type " \
           "removed" in breaking(changes)


def test_required_response_header_dropped_is_breaking():
    assert breaking(diff(OLD, document(headers={}))) == [
        f"BREAKING {OP}/responses/200/headers/x-request-id: required response header no longer "
        "guaranteed"]


def test_security_alternative_removed_or_scope_changed_is_breaking():
    assert breaking(diff(OLD, document(security=[{"oauth2": ["inventory:read"]}]))) == [
        f"BREAKING {OP}/security: security alternative apiKey removed"]
    assert breaking(diff(OLD, document(security=[{"oauth2": ["admin"]}, {"apiKey": []}]))) == [
        f"BREAKING {OP}/security: security alternative oauth2[inventory:read] removed"]
    assert not breaking(diff(document(security=[{"oauth2": ["inventory:read"]}]), OLD))


def test_public_operation_requiring_credentials_is_breaking():
    public = document(security=[])
    assert breaking(diff(public, OLD)) == [
        f"BREAKING {OP}/security: public operation now requires credentials"]
    assert not breaking(diff(OLD, public))


def test_security_scheme_changes_are_breaking():
    def rename_header(d):
        d["components"]["securitySchemes"]["apiKey"]["name"] = "X-Key"
    assert breaking(changed(rename_header)) == [
        "BREAKING #/components/securitySchemes/apiKey/name: changed from 'X-API-Key' to 'X-Key'"]

    def drop_scope(d):
        d["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["scopes"].pop(
            "admin")
    assert breaking(changed(drop_scope)) == [
        "BREAKING #/components/securitySchemes/oauth2/flows/clientCredentials/scopes: "
        "scopes removed: admin"]
