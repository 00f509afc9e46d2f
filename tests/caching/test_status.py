from __future__ import annotations

import pytest

from caching import Lookup, aggregate


def lookup(**fields: object) -> Lookup:
    base: dict[str, object] = {"payload": b"x", "status": "hit", "fetched_at": 100.0,
                               "age": 2.0, "ttl": 3.0}
    return Lookup(**{**base, **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(("item", "expected"), [
    (lookup(), "erp-gateway; hit; ttl=3"),
    (lookup(status="stale", age=9.5, ttl=-4.5, detail="stale-while-revalidate"),
     "erp-gateway; hit; ttl=-5; detail=stale-while-revalidate"),
    (lookup(status="miss", age=0, ttl=5, fwd="uri-miss", stored=True),
     "erp-gateway; fwd=uri-miss; stored; ttl=5"),
    (lookup(status="miss", age=0, ttl=5, fwd="stale", collapsed=True),
     "erp-gateway; fwd=stale; collapsed; ttl=5"),
    (lookup(status="stale", age=45, ttl=-40, fwd="stale", detail="stale-if-error"),
     "erp-gateway; fwd=stale; ttl=-40; detail=stale-if-error"),
])
def test_cache_status_follows_rfc_9211(item: Lookup, expected: str) -> None:
    assert item.cache_status() == expected


def test_names_and_details_that_are_not_tokens_are_quoted() -> None:
    item = lookup(detail='upstream said "no"')
    assert item.cache_status("edge cache") == (
        '"edge cache"; hit; ttl=3; detail="upstream said \\"no\\""')
    with pytest.raises(ValueError):
        lookup().cache_status("caché")


def test_age_header_is_whole_seconds() -> None:
    assert lookup(age=4.9).age_header == "4"
    assert lookup(age=0.0).age_header == "0"


def test_aggregate_takes_the_worst_status_oldest_age_least_ttl() -> None:
    combined = aggregate([
        lookup(age=1, ttl=4),
        lookup(status="miss", fwd="uri-miss", stored=True, age=0, ttl=5),
        lookup(status="stale", age=8, ttl=-3, detail="stale-while-revalidate"),
    ])
    assert combined.status == "miss"
    assert (combined.age, combined.ttl) == (8, -3)
    assert combined.cache_status() == "erp-gateway; fwd=uri-miss; stored; ttl=-3"
    with pytest.raises(ValueError):
        aggregate([])
