"""The running gateway's version: the installed distribution's."""

from __future__ import annotations

from importlib import metadata


def version() -> str:
    try:
        return metadata.version("erp-gateway")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"
