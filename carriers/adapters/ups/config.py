"""Options of one UPS account, validated when the gateway loads its shipping accounts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from carriers.config import ProxyUrl

HOSTS = {
    "test": "https://wwwcie.ups.com",  # Customer Integration Environment
    "production": "https://onlinetools.ups.com",
}

ApiVersion = Annotated[str, Field(pattern=r"^v\d+$")]


class UPSConfig(BaseModel):
    """``options`` of a ``carrier = "ups"`` account; secrets arrive already resolved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: SecretStr
    client_secret: SecretStr
    # the 6-character UPS account that pays for labels and gets negotiated rates
    shipper_number: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{6,10}$")]
    # no default: buying a real label must be a deliberate choice
    environment: Literal["test", "production"]
    base_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(/\S*)?$")] | None = None
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 8.0
    # an explicit outbound proxy (the environment's proxy variables are never read)
    proxy: ProxyUrl | None = None
    rating_version: ApiVersion = "v2409"
    shipping_version: ApiVersion = "v2409"
    # UPS thermal stock: 4x6 or 4x8 inches (the image never exceeds 4x6)
    label_stock: Literal["4x6", "4x8"] = "4x6"
    negotiated_rates: bool = True
    # the account is enabled for UPS Paperless Invoice: UPS sends the invoice to customs
    paperless_invoice: bool = False
    # sent as the transactionSrc header UPS asks every call to carry
    transaction_source: Annotated[str, Field(min_length=1, max_length=512)] = "erp-gateway"

    @property
    def url(self) -> str:
        return (self.base_url or HOSTS[self.environment]).rstrip("/")
