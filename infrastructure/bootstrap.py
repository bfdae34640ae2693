"""The one wiring function. The API, the worker, the CLI and the tests all call `bootstrap`."""

from __future__ import annotations

import logging
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import redis
from eventsourcing.projection import BaseProjectionRunner

from application.shop import Shop
from infrastructure.embedded import EmbeddedServers
from infrastructure.event_store import eventsourcing_env, install_immutability_guard
from infrastructure.redis_views import RedisDocumentView
from infrastructure.runners import Supervisor
from infrastructure.settings import Settings
from projections.base import DocumentProjection
from projections.carts import CartsProjection
from projections.catalog import StockItemsProjection

log = logging.getLogger(__name__)

REDIS_PROJECTIONS: dict[str, type[DocumentProjection]] = {
    p.name: p for p in (StockItemsProjection, CartsProjection)
}


class ConfigurationError(Exception):
    """The settings cannot make a working system."""


def jwt_secret(settings: Settings) -> str:
    """ECOVAREJO_JWT_SECRET, or in embedded mode one generated once and kept in the data dir."""
    if settings.jwt_secret is not None:
        return settings.jwt_secret.get_secret_value()
    if not settings.embedded:
        raise ConfigurationError("set ECOVAREJO_JWT_SECRET (or ECOVAREJO_JWKS_URL)")
    path = settings.data_dir / "jwt-secret"
    if not path.exists():
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(48))
    return path.read_text().strip()


@dataclass
class Container:
    settings: Settings
    database_url: str
    redis_url: str
    env: dict[str, str]
    shop: Shop
    redis: redis.Redis
    embedded: EmbeddedServers | None = None
    supervisors: dict[str, Supervisor] = field(default_factory=dict)

    def view(self, projection: str) -> RedisDocumentView:
        """The active generation of a Redis projection, for reading."""
        return RedisDocumentView(self.redis, projection)

    @property
    def follower_env(self) -> dict[str, str]:
        """Settings for the readers the runners open: tables exist already (bootstrap made
        them), and concurrent CREATE statements would only race each other."""
        return {**self.env, "CREATE_TABLE": "n", "POSTGRES_POOL_SIZE": "1"}

    def projection_positions(self) -> dict[str, int]:
        return {name: self.view(name).max_tracking_id("") or 0 for name in REDIS_PROJECTIONS}

    def wait_for_projections(self, position: int, timeout: float = 10.0) -> bool:
        """Block until every Redis projection has processed `position`; False on timeout."""
        deadline = time.monotonic() + timeout
        while min(self.projection_positions().values()) < position:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def head_position(self) -> int:
        return self.shop.recorder.max_notification_id() or 0

    def _projection_runner(self, name: str) -> BaseProjectionRunner[Any]:
        view = RedisDocumentView(redis.Redis.from_url(self.redis_url), name)
        return BaseProjectionRunner(
            projection=REDIS_PROJECTIONS[name](view),
            application_class=Shop,
            tracking_recorder=view,
            topics=(),
            env=self.follower_env,
        )

    def start_processing(self) -> None:
        """Run the projectors (and, later, the saga) in background threads of this process."""
        for name in REDIS_PROJECTIONS:
            if name not in self.supervisors:
                runner = Supervisor(name, lambda n=name: self._projection_runner(n))  # type: ignore[misc]
                self.supervisors[name] = runner.start()

    def close(self) -> None:
        try:
            for supervisor in self.supervisors.values():
                supervisor.stop()
            self.supervisors.clear()
            self.shop.close()
            self.redis.close()
        finally:  # whatever failed above, leave no embedded server behind
            if self.embedded is not None:
                self.embedded.stop()


def bootstrap(settings: Settings | None = None) -> Container:
    settings = settings or Settings()
    embedded = None
    database_url, redis_url = settings.database_url, settings.redis_url
    if database_url is None or redis_url is None:
        embedded = EmbeddedServers(settings.data_dir)
        pg_url, r_url = embedded.start(
            need_postgres=database_url is None, need_redis=redis_url is None
        )
        database_url, redis_url = database_url or pg_url, redis_url or r_url
    assert database_url is not None
    assert redis_url is not None
    try:
        env = eventsourcing_env(database_url, settings.pool_size)
        shop = Shop(env=env)
        install_immutability_guard(database_url)
        client = redis.Redis.from_url(redis_url)
        client.ping()
    except Exception:
        if embedded is not None:
            embedded.stop()
        raise
    return Container(settings, database_url, redis_url, env, shop, client, embedded)
