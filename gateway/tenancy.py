"""The shipping service's view of a caller: its principal key, warehouses and admin rights."""

from __future__ import annotations

from carriers.tenancy import Tenant
from policies.auth import Principal


def tenant_of(principal: Principal) -> Tenant:
    """Labels are the buyer's (by issuer-qualified key) or its warehouses'; admin sees all."""
    return Tenant(principal.key, principal.warehouses, sees_all=principal.has_scope("admin"))
