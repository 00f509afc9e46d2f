"""Request headers an operation takes as typed input (named by their wire names)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# printable ASCII without spaces, as the IETF Idempotency-Key draft's examples use
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"


class IdempotencyHeaders(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    idempotency_key: Annotated[str, Field(
        alias="Idempotency-Key", min_length=1, pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Unique per purchase; resend the same key on every retry. Reuse with "
        "another body is refused (422).")]
