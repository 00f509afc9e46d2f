"""Whose labels are whose: the buyer of a label and the warehouse it ships from.

A label belongs to the caller that bought it (its ``key``, qualified by issuer for external
callers) and to the warehouse it ships from. A caller limited to some warehouses buys,
reprints and voids only for those (whoever bought the label there); an unlimited caller
sees the labels it bought itself; an operator (``sees_all``) sees every label. Anything
else is answered as if the label did not exist, so ids of other callers' labels reveal
nothing. Labels stored before owners were recorded have none: only an operator sees them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LabelOwner:
    """Recorded with a label when it is bought."""

    key: str
    # None for a purchase claimed before warehouses were recorded
    warehouse: str | None


@dataclass(frozen=True, slots=True)
class Tenant:
    """A caller of the shipping service, as far as label ownership goes."""

    key: str
    # warehouses the caller may ship from; None means every warehouse
    warehouses: frozenset[str] | None = None
    # operators see every label
    sees_all: bool = False

    def may_ship_from(self, warehouse: str) -> bool:
        return self.sees_all or self.warehouses is None or warehouse in self.warehouses

    def may_see(self, owner: LabelOwner | None) -> bool:
        """Whether a label with this owner is this caller's to reprint or void."""
        if self.sees_all:
            return True
        if owner is None:
            return False
        if self.warehouses is None:
            return owner.key == self.key
        return owner.warehouse is not None and owner.warehouse in self.warehouses
