"""``[erp]`` with ``kind = "tryton"``: where trytond is and how the connector talks to it."""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote

import httpx
import pydantic

from carriers.config import ProxyUrl


class TrytonConfig(pydantic.BaseModel):
    """``[erp]`` table with ``kind = "tryton"``."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    kind: Literal["tryton"] = "tryton"
    url: str = pydantic.Field(description="base URL of trytond, e.g. http://127.0.0.1:8000")
    database: str
    username: str
    password: pydantic.SecretStr
    connect_timeout: float = pydantic.Field(2.0, gt=0)
    read_timeout: float = pydantic.Field(5.0, gt=0)
    total_timeout: float = pydantic.Field(8.0, gt=0)
    max_connections: int = pydantic.Field(20, ge=1)
    # codes of the warehouses to report, in this order; None reports every coded warehouse
    warehouses: list[str] | None = None
    # how long warehouse ids and the company currency are reused before being read again
    catalog_ttl: float = pydantic.Field(300.0, ge=0)
    # after a failed login, callers get that failure instead of a new attempt for a pause
    # that starts here and doubles per failure (with jitter) up to login_backoff_max:
    # Tryton slows down repeated failed logins and then locks the user out for minutes
    login_backoff: float = pydantic.Field(5.0, ge=0)
    login_backoff_max: float = pydantic.Field(300.0, ge=0)
    # an explicit outbound proxy (the environment's proxy variables are never read)
    proxy: ProxyUrl | None = None

    @pydantic.field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        try:
            url = httpx.URL(value.strip())
        except (httpx.InvalidURL, TypeError) as exc:
            raise ValueError(f"not a URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("must be an absolute http:// or https:// URL")
        if url.userinfo:
            raise ValueError("must not carry credentials; use username and password")
        if url.query or url.fragment:
            raise ValueError("must not have a query or fragment")
        return str(url).rstrip("/")

    @pydantic.field_validator("database", "username")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value

    @pydantic.field_validator("password")
    @classmethod
    def _check_password(cls, value: pydantic.SecretStr) -> pydantic.SecretStr:
        if not value.get_secret_value():
            raise ValueError("must not be empty")
        return value

    @pydantic.field_validator("warehouses")
    @classmethod
    def _check_warehouses(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("list at least one warehouse code, or leave it out for all")
        if any(not code.strip() for code in value):
            raise ValueError("warehouse codes must not be empty")
        duplicates = sorted({code for code in value if value.count(code) > 1})
        if duplicates:
            raise ValueError(f"duplicate warehouse codes: {', '.join(duplicates)}")
        return value

    @pydantic.model_validator(mode="after")
    def _check_budget(self) -> TrytonConfig:
        if self.total_timeout < self.connect_timeout:
            raise ValueError(
                f"total_timeout ({self.total_timeout}) must be at least "
                f"connect_timeout ({self.connect_timeout})"
            )
        return self

    @property
    def rpc_url(self) -> str:
        return f"{self.url}/{quote(self.database, safe='')}/rpc/"
