"""Options of one FedEx account, validated when the gateway loads its shipping accounts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from carriers.config import ProxyUrl

HOSTS = {
    "test": "https://apis-sandbox.fedex.com",
    "production": "https://apis.fedex.com",
}

PaperStock = Literal["PAPER_4X6", "PAPER_4X675", "PAPER_4X8", "PAPER_4X9", "PAPER_7X475",
                     "PAPER_85X11_BOTTOM_HALF_LABEL", "PAPER_85X11_TOP_HALF_LABEL",
                     "PAPER_LETTER"]
ThermalStock = Literal["STOCK_4X6", "STOCK_4X675", "STOCK_4X8", "STOCK_4X9",
                       "STOCK_4X675_LEADING_DOC_TAB", "STOCK_4X675_TRAILING_DOC_TAB",
                       "STOCK_4X9_LEADING_DOC_TAB", "STOCK_4X9_TRAILING_DOC_TAB",
                       "STOCK_4X85_TRAILING_DOC_TAB", "STOCK_4X105_TRAILING_DOC_TAB"]


class FedExConfig(BaseModel):
    """``options`` of a ``carrier = "fedex"`` account; secrets arrive already resolved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    client_id: SecretStr
    client_secret: SecretStr
    account_number: Annotated[str, Field(pattern=r"^[0-9]{9,12}$")]
    # no default: buying a real label must be a deliberate choice
    environment: Literal["test", "production"]
    base_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(/\S*)?$")] | None = None
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 8.0
    # an explicit outbound proxy (the environment's proxy variables are never read)
    proxy: ProxyUrl | None = None
    pickup_type: Literal["USE_SCHEDULED_PICKUP", "DROPOFF_AT_FEDEX_LOCATION",
                         "CONTACT_FEDEX_TO_SCHEDULE"] = "USE_SCHEDULED_PICKUP"
    # label stock per kind of printer: PDF and PNG go on paper, ZPL on thermal stock
    paper_label_stock: PaperStock = "PAPER_4X6"
    thermal_label_stock: ThermalStock = "STOCK_4X6"
    # the account has FedEx Electronic Trade Documents: invoices go to customs electronically
    electronic_trade_documents: bool = False
    # only for a label reply that states a charge without its currency
    default_currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"

    @property
    def url(self) -> str:
        return (self.base_url or HOSTS[self.environment]).rstrip("/")
