"""Contract fuzzing: schemathesis against the ASGI app in-process, every operation of every
document, with the demo admin key (it holds every scope).

Reproducible: a fixed seed (each operation derives its own from it), a bounded number of
examples per operation and no example database. A failure prints the request as a curl
command; the same seed finds the same case again. To explore beyond what CI runs, change
SEED or raise MAX_EXAMPLES locally.
"""

import schemathesis
from hypothesis import settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.app import create_app
from gateway.contracts.generator import documents
from gateway.operations import operations
from gateway.settings import Settings
from tests.support.app import ADMIN

SEED = 20260513
MAX_EXAMPLES = 25
# problem types that say "your request does not follow the contract"
CONTRACT_REFUSALS = {"https://erp-gateway.dev/problems/validation-failed",
                     "https://erp-gateway.dev/problems/bad-request"}


@schemathesis.check
def valid_requests_pass_validation(ctx, response, case):
    """A request generated from the contract is never refused as malformed (400, 422
    validation-failed): the contract promises no more than the server accepts. Refusals on
    the merits (an unknown carrier account, a SKU the ERP does not know) are the server's."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return None
    if response.status_code in (400, 422):
        try:
            kind = response.json().get("type")
        except ValueError:
            kind = None
        assert kind not in CONTRACT_REFUSALS, (
            f"schema-valid request refused as malformed: {response.text[:500]}")
    return None


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance,
          valid_requests_pass_validation]

# schemathesis runs the app's lifespan itself (once per app, for the rest of the process)
app = create_app(Settings.embedded_demo())


def _schema(document):
    config = schemathesis.Config.from_dict({
        "seed": SEED,
        "generation": {"max-examples": MAX_EXAMPLES, "database": "none"},
    })
    schema = schemathesis.openapi.from_dict(document, config=config)
    schema.app = app
    return schema


@schemathesis.pytest.parametrize(**{name: _schema(doc)
                                    for name, doc in documents(operations()).items()})
# the same cases locally and under Hypothesis' CI profile (which would derandomize instead)
@settings(derandomize=False, database=None)
def test_operations_conform_to_the_contract(case):
    case.call_and_validate(headers=ADMIN, checks=CHECKS)
