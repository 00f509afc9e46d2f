"""Options of one USPS account, validated when the gateway loads its shipping accounts."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from carriers.config import ProxyUrl

HOSTS = {
    "test": "https://apis-tem.usps.com",  # Testing Environment for Mailers
    "production": "https://apis.usps.com",
}

# domestic outbound mail classes of the Labels 3.0 and Shipping Options 3.0 specs
MailClass = Literal[
    "USPS_GROUND_ADVANTAGE",
    "PRIORITY_MAIL",
    "PRIORITY_MAIL_EXPRESS",
    "PARCEL_SELECT",
    "USPS_CONNECT_LOCAL",
    "USPS_CONNECT_REGIONAL",
    "MEDIA_MAIL",
    "LIBRARY_MAIL",
    "BOUND_PRINTED_MATTER",
]

Digits = Annotated[str, Field(pattern=r"^\d{1,20}$")]
AccountNumber = Annotated[str, Field(pattern=r"^[0-9A-Za-z]{1,20}$")]


class UspsConfig(BaseModel):
    """``options`` of a ``carrier = "usps"`` account; secrets arrive already resolved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # consumer key and secret of the app registered on the USPS developer portal
    client_id: SecretStr
    client_secret: SecretStr
    # no default: buying a real label must be a deliberate choice
    environment: Literal["test", "production"]
    base_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(/\S*)?$")] | None = None
    timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 8.0
    # an explicit outbound proxy (the environment's proxy variables are never read)
    proxy: ProxyUrl | None = None
    # payment authorization for labels (roles PAYER and LABEL_OWNER); all four or none.
    # Without them the account rates and tracks but cannot buy or void labels.
    crid: Digits | None = None
    mid: Digits | None = None
    manifest_mid: Digits | None = None
    eps_account_number: AccountNumber | None = None
    price_type: Literal["RETAIL", "COMMERCIAL", "CONTRACT"] = "COMMERCIAL"
    # mail classes offered when rating; Media/Library Mail and Bound Printed Matter have
    # content rules, Connect and Parcel Select need enrolment or drop-off, so they are opt-in
    mail_classes: Annotated[tuple[MailClass, ...], Field(min_length=1)] = (
        "USPS_GROUND_ADVANTAGE", "PRIORITY_MAIL", "PRIORITY_MAIL_EXPRESS")
    label_size: Literal["4X6LABEL", "4X5LABEL", "4X4LABEL", "6X4LABEL", "2X7LABEL"] = "4X6LABEL"
    zpl_dpi: Literal[203, 300] = 203

    @model_validator(mode="after")
    def _payment_roles_complete(self) -> UspsConfig:
        given = [self.crid, self.mid, self.manifest_mid, self.eps_account_number]
        if any(given) and not all(given):
            raise ValueError("crid, mid, manifest_mid and eps_account_number go together: "
                             "labels need all four, rating and tracking need none")
        if self.price_type == "CONTRACT" and not self.eps_account_number:
            raise ValueError("price_type CONTRACT needs eps_account_number")
        return self

    @property
    def url(self) -> str:
        return (self.base_url or HOSTS[self.environment]).rstrip("/")

    @property
    def buys_labels(self) -> bool:
        return self.eps_account_number is not None
