"""Every ``__all__`` says what its module really offers, as httpx's test pins its own.

For a package, ``__all__`` is exactly its public names (what ``from pkg import *`` should
give); for a module, every name in ``__all__`` exists and every public class or function
the module defines is in it (helpers it only imports are not its surface).
"""

from __future__ import annotations

import importlib
import pkgutil
import types
from typing import TypeVar

import pytest

PACKAGES = ("gateway", "policies", "caching", "carriers")


def _modules() -> list[str]:
    names = []
    for top in PACKAGES:
        package = importlib.import_module(top)
        names.append(top)
        names += [m.name for m in pkgutil.walk_packages(package.__path__, top + ".")
                  if not m.name.endswith("__main__")]
    return names


def _with_all() -> list[types.ModuleType]:
    modules = [importlib.import_module(name) for name in _modules()]
    return [m for m in modules if hasattr(m, "__all__")]


def _public(module: types.ModuleType) -> dict[str, object]:
    return {k: v for k, v in vars(module).items()
            if not k.startswith("_") and k != "annotations"
            and not isinstance(v, types.ModuleType | TypeVar)}


@pytest.mark.parametrize("module", _with_all(), ids=lambda m: m.__name__)
def test_all_names_exist_once(module: types.ModuleType) -> None:
    names = list(module.__all__)
    assert len(names) == len(set(names)), "a name is listed twice"
    assert [n for n in names if not hasattr(module, n)] == []


@pytest.mark.parametrize("module", _with_all(), ids=lambda m: m.__name__)
def test_all_is_what_the_module_offers(module: types.ModuleType) -> None:
    public = _public(module)
    if hasattr(module, "__path__"):  # a package: its public names are its surface
        assert sorted(public) == sorted(module.__all__)
    else:
        defined = {k for k, v in public.items()
                   if getattr(v, "__module__", None) == module.__name__
                   and isinstance(v, type | types.FunctionType)}
        assert sorted(defined - set(module.__all__)) == []


def test_the_packages_pin_their_surface() -> None:
    # each layer's package has an explicit surface (gateway is the application, not a library)
    for name in ("policies.auth", "policies.ratelimit", "caching", "carriers"):
        assert hasattr(importlib.import_module(name), "__all__"), name
