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
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]

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
