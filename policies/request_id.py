"""Correlation ids: accept a well-formed ``X-Request-ID`` or make one.

``PolicyChain(request_ids=True)`` assigns one per request, echoes it on the response and
leaves it in ``request_id_var`` for log lines and outbound calls.
"""

from __future__ import annotations

import os
import random
import re
from contextvars import ContextVar

from starlette.types import Scope

HEADER = "X-Request-ID"
HEADER_KEY = b"x-request-id"
_VALID = re.compile(rb"^[A-Za-z0-9._:\-]{1,128}$")

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# ids need to be unique, not secret (they grant nothing, and clients may send their own):
# 128 bits from a generator seeded from the OS, reseeded in a forked child so two workers
# never share a sequence, cheaper than an os.urandom system call per request
_ids = random.Random(os.urandom(32))
os.register_at_fork(after_in_child=lambda: _ids.seed(os.urandom(32)))


def assign_request_id(scope: Scope) -> str:
    """The caller's id if well formed (anything else is replaced, not trusted), else a new one."""
    for key, value in scope["headers"]:
        if key == HEADER_KEY:
            if _VALID.fullmatch(value):
                rid: str = value.decode("ascii")
                return rid
            break
    return _ids.randbytes(16).hex()
