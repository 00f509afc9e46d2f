"""Options of one DHL Express (MyDHL API) account, validated when the gateway loads them."""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from carriers.config import ProxyUrl

HOSTS = {
    "test": "https://express.api.dhl.com/mydhlapi/test",
    "production": "https://express.api.dhl.com/mydhlapi",
}

Incoterm = Literal["EXW", "FCA", "CPT", "CIP", "DPU", "DAP", "DDP", "FAS", "FOB", "CFR", "CIF",
                   "DAF", "DAT", "DDU", "DEQ", "DES"]


class DhlExpressConfig(BaseModel):
    """``options`` of a ``carrier = "dhl_express"`` account; secrets arrive already resolved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # MyDHL API key and secret (HTTP Basic), issued per environment
    api_key: SecretStr
    api_secret: SecretStr
    # the DHL Express shipper account that is rated and billed
    account_number: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,12}$")]
    # no default: buying a real label must be a deliberate choice
    environment: Literal["test", "production"]
    base_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(/\S*)?$")] | None = None
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 8.0
    # an explicit outbound proxy (the environment's proxy variables are never read)
    proxy: ProxyUrl | None = None
    # the warehouses' time zone: plannedShippingDateAndTime is local time with its offset
    timezone: str = "UTC"
    # transport label template (MyDHL imageOptions.templateName)
    label_template: Annotated[str, Field(min_length=1, max_length=25)] = "ECOM26_84_001"
    # content.description and content.incoterm are required on every shipment
    content_description: Annotated[str, Field(min_length=1, max_length=70,
                                              pattern=r"^\S")] = "General merchandise"
    incoterm: Incoterm = "DAP"
    # the account has DHL Paperless Trade (service WY): the invoice goes to customs electronically
    paperless_trade: bool = False

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def url(self) -> str:
        return (self.base_url or HOSTS[self.environment]).rstrip("/")

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
