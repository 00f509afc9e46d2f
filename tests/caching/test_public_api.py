from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import caching


def test_public_surface_is_pinned() -> None:
    assert sorted(caching.__all__) == [
        "CACHE_NAME", "CacheConfig", "Counters", "Entry", "Fetch", "FetchResult",
        "FreshnessPolicy", "InvalidationResult", "Lookup", "Status", "TieredCache",
        "aggregate", "redis_client",
    ]
    assert all(hasattr(caching, name) for name in caching.__all__)


def test_caching_is_a_library_that_imports_no_other_package_of_ours() -> None:
    code = (
        "import sys, caching, caching.fill, caching.invalidation, caching.tiered\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'gateway', 'policies', 'carriers'})\n"
        "print(','.join(bad))\n"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=root)
    assert out.stdout.strip() == ""
