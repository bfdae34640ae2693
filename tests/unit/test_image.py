"""The image is code too: a multi-stage Dockerfile whose runtime stage is slim, has no
compiler and runs as a non-root user with a HEALTHCHECK; checkov's Dockerfile checks pass.
(Docker cannot run here, so the image is not built in the tests: see the README.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def stages() -> list[list[str]]:
    found: list[list[str]] = []
    for raw in DOCKERFILE.read_text().replace("\\\n", " ").splitlines():
        line = raw.strip()
        if line.upper().startswith("FROM "):
            found.append([])
        if line and not line.startswith("#") and found:
            found[-1].append(line)
    return found


def test_wheels_are_built_in_one_stage_and_the_runtime_is_slim_without_a_compiler() -> None:
    build, runtime = stages()
    assert "pip wheel" in " ".join(build)
    assert re.match(r"FROM python:3\.11-slim", runtime[0])
    text = " ".join(runtime)
    for tool in ("gcc", "build-essential", "apt-get install", "pip install", "/wheels"):
        assert tool not in text, tool
    assert any(line.startswith("COPY --from=build") for line in runtime)


def test_the_runtime_runs_as_a_non_root_user_and_says_how_to_check_its_health() -> None:
    runtime = stages()[-1]
    users = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert users
    assert users[-1].split(":")[0] not in ("0", "root")
    assert any(line.startswith("HEALTHCHECK ") and "/health" in line for line in runtime)


def test_checkov_finds_nothing_in_the_dockerfile() -> None:
    checkov = str(Path(sys.executable).parent / "checkov")
    done = subprocess.run(
        [checkov, "-f", str(DOCKERFILE), "--framework", "dockerfile", "--compact", "--quiet",
         "--skip-download"],
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-4000:]
