"""What the deployment tests share: the repo's paths, external tools, ``check-config``."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def required_tool(name: str, install: str) -> str:
    """The tool's path; CI fails without it, elsewhere the test is skipped."""
    found = shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))
    if found:
        return found
    message = f"{name} is not on PATH: {install}; .ci/run does"
    if os.environ.get("CI"):
        pytest.fail(message + f" - CI must run the {name} check, not skip it")
    pytest.skip(message)


def env_refs(text: str) -> set[str]:
    return set(ENV_REF.findall(text))


def check_config(path: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """``erp-gateway check-config`` on a file, with exactly ``env`` as the secrets."""
    clean = {k: v for k, v in os.environ.items() if k not in env_refs(path.read_text())}
    return subprocess.run([sys.executable, "-m", "gateway", "check-config", str(path)],
                          env={**clean, **env}, capture_output=True, text=True, timeout=60,
                          cwd=ROOT)
