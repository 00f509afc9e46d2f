"""What the embedded demo adds to its ``Settings``: demo clients, two sandbox carrier accounts
and a fallback table (``Settings(demo=True)`` fills these in where the file names none)."""

from __future__ import annotations

import tempfile
from decimal import Decimal
from functools import cache
from pathlib import Path

from carriers.config import (
    CarrierAccountConfig,
    FallbackConfig,
    FallbackRule,
    IdempotencyConfig,
    ShippingConfig,
)
from carriers.models import ServiceLevel
from policies.auth import AuthConfig, demo_auth_config


@cache
def demo_auth() -> AuthConfig:
    """The demo clients (hashing their secrets costs ~0.5 s of scrypt: once per process)."""
    return demo_auth_config()


# label records survive a demo restart, so a retried purchase after a crash is still resolved
DEMO_LABELS = Path(tempfile.gettempdir()) / "erp-gateway-demo-labels.sqlite3"

_RULES = [
    # (service, level, band max kg, price, transit days)
    ("ground", ServiceLevel.GROUND, Decimal(5), Decimal("9.50"), 5),
    ("ground", ServiceLevel.GROUND, Decimal(30), Decimal("17.00"), 5),
    ("expedited", ServiceLevel.EXPEDITED, Decimal(5), Decimal("19.00"), 2),
    ("expedited", ServiceLevel.EXPEDITED, Decimal(30), Decimal("34.00"), 2),
    ("overnight", ServiceLevel.OVERNIGHT, Decimal(30), Decimal("49.00"), 1),
]


def demo_shipping(labels_path: Path = DEMO_LABELS) -> ShippingConfig:
    rules: list[FallbackRule] = []
    previous: dict[str, Decimal] = {}
    for service, level, upper, price, days in _RULES:
        rules.append(FallbackRule(
            country="US", service=service, service_level=level,
            min_weight_kg=previous.get(service, Decimal(0)), max_weight_kg=upper,
            price=price, currency="USD", handling_fee=Decimal("1.00"),
            dim_divisor=Decimal(5000), transit_days=days))
        previous[service] = upper
    return ShippingConfig(
        accounts=[
            CarrierAccountConfig(id="sandbox-main", carrier="sandbox", warehouses=["*"]),
            CarrierAccountConfig(id="sandbox-backup", carrier="sandbox", warehouses=["*"],
                                 options={"seed": 2}),
        ],
        fallback=FallbackConfig(rules=rules),
        idempotency=IdempotencyConfig(backend="sqlite", sqlite_path=str(labels_path)),
    )
