"""The console in a real browser: headless Chromium (Debian's `chromium` and
`chromium-driver`, driven by selenium) against the API served by uvicorn on a free port,
with the whole system wired as in production. One system and one browser for the module,
so the tests stay fast. Without a browser the tests skip locally but FAIL under CI=true.

Screenshots go to ECOVAREJO_SCREENSHOTS (`make screenshots` sets docs/screenshots, the
README's pictures), else to the test's temporary directory."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis
import uvicorn

from api.http.app import create_app
from api.http.auth import issue_token
from infrastructure.bootstrap import Container, bootstrap
from infrastructure.keys.data_keys import generate_master_key
from infrastructure.settings import Settings
from tests.conftest import JWT_SECRET, Servers, with_database

CHROMIUM = ("chromium", "chromium-browser", "google-chrome")
BROWSER_REDIS_DB = 3  # its own Redis database: other tests flush db 0


def _redis_db(url: str, db: int) -> str:
    if url.startswith("unix://"):
        return f"{url.split('?')[0]}?db={db}"
    return urlunsplit(urlsplit(url)._replace(path=f"/{db}"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def system(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Container]:
    name = f"browser_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(servers.database_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    redis_url = _redis_db(servers.redis_url, BROWSER_REDIS_DB)
    redis.Redis.from_url(redis_url).flushdb()
    settings = Settings(
        DATABASE_URL=with_database(servers.database_url, name),
        REDIS_URL=redis_url,
        ECOVAREJO_DATA_DIR=tmp_path_factory.mktemp("browser-data"),
        ECOVAREJO_JWT_SECRET=JWT_SECRET,
        ECOVAREJO_PAYMENT_TIMEOUT_S=5,
        ECOVAREJO_MASTER_KEY=generate_master_key(),
    )
    container = bootstrap(settings)
    container.start_processing()
    yield container
    container.close()
    redis.Redis.from_url(redis_url).flushdb()
    with psycopg.connect(servers.database_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """`app` served by uvicorn in a thread of this process, on a free port, until the block
    ends (the service worker test stops it to see the shop offline)."""
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def base_url(system: Container) -> Iterator[str]:
    """The API and its console, served by uvicorn in a thread of this process."""
    with serving(create_app(system)) as url:
        yield url


def _chromium() -> tuple[str, str] | None:
    binary = next((found for name in CHROMIUM if (found := shutil.which(name))), None)
    driver = shutil.which("chromedriver")
    return (binary, driver) if binary and driver else None


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium for the module."""
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as error:  # pragma: no cover - selenium is a dev dependency
        (pytest.fail if in_ci else pytest.skip)(f"selenium is not installed: {error}")
    found = _chromium()
    if found is None:
        message = "chromium / chromedriver not found (apt-get install chromium chromium-driver)"
        if in_ci:
            pytest.fail(message)
        pytest.skip(message)
    binary, driver_path = found
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
    ):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"intl.accept_languages": "pt-BR,pt"})
    try:
        driver = webdriver.Chrome(service=Service(driver_path), options=options)
    except Exception as error:
        message = f"Chromium did not start: {error}"
        if in_ci:
            pytest.fail(message)
        pytest.skip(message)
    driver.implicitly_wait(0)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("ECOVAREJO_SCREENSHOTS")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def token(role: str, sub: str | None = None) -> str:
    return issue_token(JWT_SECRET, sub or f"{role}-1", role, 3600)  # type: ignore[arg-type]
