"""The one wiring function. The API, the worker, the CLI and the tests all call `bootstrap`."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import psycopg
import redis
from eventsourcing.persistence import InfrastructureFactory, TrackingRecorder
from eventsourcing.utils import Environment

from application.carriers import Carrier
from application.checkout.effects import EffectDispatcher
from application.checkout.policy import CheckoutSaga
from application.fiscal import FiscalProvider
from application.keys import KeyWrapper, KeyWrapperUnavailableError, ReadModelSealer
from application.lgpd import complete_erasures
from application.ports import Notifier
from application.shop import Shop
from infrastructure import tracing
from infrastructure.carriers.melhor_envio import MelhorEnvio
from infrastructure.embedded import EmbeddedServers
from infrastructure.erasure_ledger import ErasureLedger, reapply_erasures
from infrastructure.event_log import ChainKeeper, EventLog, install_chain
from infrastructure.event_store import eventsourcing_env, install_immutability_guard
from infrastructure.feed import FeedRunner, WorkerFeed
from infrastructure.fiscal.focus_nfe import FocusNfe
from infrastructure.followers import (
    READ_MODELS,
    REDIS_READ_MODELS,
    RUNNERS,
    Runner,
    effects_tracking,
    runners_for,
)
from infrastructure.gateways.registry import build_gateways
from infrastructure.integration_publisher import publisher_tracking
from infrastructure.key_wrappers import key_wrapper_of
from infrastructure.master_key import MasterKeyError, check_master_key
from infrastructure.notifications import FileNotifier, OncePerKey, SmtpNotifier, WebhookNotifier
from infrastructure.projection_admin import publisher
from infrastructure.redis_views import LoopRedis, RedisDocumentView, active_position
from infrastructure.runners import Leases, Supervisor
from infrastructure.saga_partitions import RETRY_ENV
from infrastructure.settings import Settings
from projections.base import GenerationMovedError
from projections.readers import Readers
from projections.search import SearchStore, active_index

log = logging.getLogger(__name__)

# Kept for callers of the first version: the registry is `infrastructure.followers`.
REDIS_PROJECTIONS = REDIS_READ_MODELS
REBUILDABLE = tuple(READ_MODELS)
# The lease units: every runner a worker runs under a lease (see infrastructure.runners).
FOLLOWERS = list(RUNNERS)


def make_search_store(
    settings: Settings, database_url: str, *, read_only: bool = False
) -> SearchStore:
    """ELASTICSEARCH_URL set: Elasticsearch; else PostgreSQL full-text search in the event
    store's database (the embedded default). Imported here: the Elasticsearch client is
    slow to import and most processes never need it."""
    if settings.elasticsearch_url:
        from infrastructure.search_elasticsearch import ElasticsearchSearchStore

        return ElasticsearchSearchStore(settings.elasticsearch_url)
    from infrastructure.search_postgres import PostgresSearchStore

    pool_size = 1 if read_only else min(settings.pool_size, 4)
    return PostgresSearchStore(database_url, pool_size=pool_size, read_only=read_only)


def make_carrier(settings: Settings) -> Carrier | None:
    """The configured carrier, or None: the rates table and shipping by hand."""
    if settings.carrier != "melhorenvio":
        return None
    token, secret = settings.melhorenvio_token, settings.melhorenvio_webhook_secret
    if token is None or secret is None:
        raise ConfigurationError(
            "ECOVAREJO_CARRIER=melhorenvio needs ECOVAREJO_MELHORENVIO_TOKEN and "
            "ECOVAREJO_MELHORENVIO_WEBHOOK_SECRET"
        )
    return MelhorEnvio(
        token.get_secret_value(),
        secret.get_secret_value(),
        settings.sender,
        base_url=settings.melhorenvio_api_base,
        timeout_s=settings.carrier_timeout_s,
    )


def make_fiscal_provider(settings: Settings) -> FiscalProvider | None:
    """The configured NF-e issuer, or None: no NF-e (a shop issuing them elsewhere)."""
    if settings.fiscal_provider != "focusnfe":
        return None
    if settings.focusnfe_token is None:
        raise ConfigurationError(
            "ECOVAREJO_FISCAL_PROVIDER=focusnfe needs ECOVAREJO_FOCUSNFE_TOKEN"
        )
    return FocusNfe(
        settings.focusnfe_token.get_secret_value(),
        base_url=settings.focusnfe_api_base,
        timeout_s=settings.carrier_timeout_s,
    )


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


def make_notifier(
    settings: Settings, client: redis.Redis, email_of: Callable[[str], str | None]
) -> Notifier:
    notifiers: list[Notifier] = [FileNotifier(settings.data_dir / "notifications.jsonl")]
    if settings.smtp_url:
        notifiers.append(SmtpNotifier(settings.smtp_url, email_of))
    if settings.webhook_url:
        secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
        notifiers.append(WebhookNotifier(settings.webhook_url, secret))
    return OncePerKey(client, notifiers)


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
    worker: Any = None  # a dramatiq.Worker, in processes that run the actors
    actors: Any = None  # infrastructure.actors.Actors, in processes that run effects
    search: SearchStore | None = None
    chain_keeper: ChainKeeper | None = None
    leases: Leases | None = None
    feed: WorkerFeed | None = None  # the worker's one subscription, once a runner uses it
    aredis: LoopRedis = field(init=False)

    def __post_init__(self) -> None:
        self.aredis = LoopRedis(self.redis_url)

    @property
    def follower_env(self) -> dict[str, str]:
        """Settings for the readers the runners open: tables exist already (bootstrap made
        them), and concurrent CREATE statements would only race each other."""
        return {**self.env, "CREATE_TABLE": "n", "POSTGRES_POOL_SIZE": "1"}

    def view(self, projection: str) -> RedisDocumentView:
        """The active generation of a Redis read model, for reading."""
        return RedisDocumentView(self.redis, projection, follow_active=False)

    @property
    def readers(self) -> Readers:
        """The query side: one reader per read model (projections/readers.py)."""
        search = self.search
        return Readers(
            self.view,
            (lambda: active_index(search)) if search is not None else None,
            ReadModelSealer(self.shop.keys),
        )

    async def position_async(self, name: str) -> int:
        """A read model's position, for the event loop: Redis read asynchronously, the
        search store (a blocking client) in a worker thread."""
        model = READ_MODELS[name]
        if model.store == "redis":
            return await active_position(self.aredis.client(), name)
        return await asyncio.to_thread(lambda: model.open(self).position())

    def projection_positions(self) -> dict[str, int]:
        """Where each read model is in the log."""
        return {
            name: model.open(self).position()
            for name, model in READ_MODELS.items()
            if model.available(self)
        }

    def wait_for_projections(self, position: int, timeout: float = 10.0) -> bool:
        """Block until every read model has processed `position`; False on timeout."""
        deadline = time.monotonic() + timeout
        while min(self.projection_positions().values()) < position:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def head_position(self) -> int:
        return self.shop.recorder.max_notification_id() or 0

    def effects_tracking(self) -> TrackingRecorder:
        return effects_tracking(self)

    # Runners (the registry's; each one started and stopped on its own) -------------------
    def start_runner(self, name: str, *, leased: bool = False) -> Supervisor:
        """Run the registry's runner `name` in this process (supervised), once. `leased`:
        on standby until this worker's `Leases` hands it the runner's lease."""
        if name not in self.supervisors:
            runner = RUNNERS[name]
            self.supervisors[name] = Supervisor(
                name,
                lambda: self._make_runner(runner),
                restart_on=(GenerationMovedError,),
                publish=publisher(self.redis),
                leased=leased,
            ).start()
        return self.supervisors[name]

    def _make_runner(self, runner: Runner) -> Any:
        """The runner on this process's one feed when it can be fed (and the setting is on),
        else the registry's own runner (its own subscription)."""
        if runner.feed is None or not self.settings.shared_feed:
            return runner.make(self)
        if self.feed is None:
            self.feed = WorkerFeed(self.follower_env)
        return FeedRunner(self.feed, runner.feed(self))

    def stop_runner(self, name: str) -> None:
        supervisor = self.supervisors.pop(name, None)
        if supervisor is not None:
            supervisor.stop()

    def start_processing(self, runners: list[str] | None = None) -> None:
        """Run the dramatiq workers and the runners (by default every runner this
        configuration can run) in this process. Every worker supervises every runner; the
        leases decide which one runs where."""
        if self.worker is not None:
            return
        from infrastructure.actors import Actors, make_broker

        broker = make_broker(self.settings.broker_url or self.redis_url)
        self.actors = Actors(broker, self.shop, self.settings.broker_queue)
        self.worker = self.actors.worker(self.settings.worker_threads)
        self.worker.start()
        for name in runners if runners is not None else [r.name for r in runners_for(self)]:
            self.start_runner(name, leased=True)
        self.leases = Leases(self.database_url, list(self.supervisors.values())).start()
        self.chain_keeper = ChainKeeper(self.database_url).start()

    def close(self) -> None:
        try:
            if self.leases is not None:
                self.leases.stop()
            for supervisor in self.supervisors.values():
                supervisor.stop()
            self.supervisors.clear()
            if self.feed is not None:
                self.feed.stop()
            if self.chain_keeper is not None:
                self.chain_keeper.stop()
            if self.worker is not None:
                self.worker.stop(timeout=5000)
                self.worker.broker.close()
            if self.search is not None:
                self.search.close()
            self.shop.close()
            self.redis.close()
        finally:  # whatever failed above, leave no embedded server behind
            if self.embedded is not None:
                self.embedded.stop()


def _create_tables(env: dict[str, str]) -> None:
    """The events table and the saga's tracking table, and the effect dispatcher's."""
    CheckoutSaga(env=env).close()
    InfrastructureFactory.construct(Environment(EffectDispatcher.name, env)).tracking_recorder()
    publisher_tracking(env)  # the integration-event publisher's (infrastructure/followers.py)


def bootstrap(settings: Settings | None = None, *, read_only: bool = False) -> Container:
    """Wire the system. `read_only` (CLI reads: replay, audit verify, projections status):
    no DDL, no advisory or table lock, small pools; the tables must exist already."""
    settings = settings or Settings()
    tracing.configure_from_env("ecovarejo")  # OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set
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
        try:
            master_key = key_wrapper_of(settings)
        except (MasterKeyError, KeyWrapperUnavailableError) as e:
            raise ConfigurationError(str(e)) from None
        env = {
            **eventsourcing_env(database_url, settings.pool_size),
            **master_key.as_env(),
            "ECOVAREJO_ERASURE_LEDGER": str(settings.erasure_ledger_path),
            RETRY_ENV: str(settings.payment_retry_s),  # the saga's, in every partition
        }
        client = redis.Redis.from_url(redis_url)
        client.ping()
        if read_only and not _log_exists(database_url):
            read_only = False  # a fresh system: nothing to read without the tables
        if read_only:
            env = {**env, "POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "1"}
            env["CREATE_TABLE"] = "n"
            shop = Shop(env=env)  # reads only: no gateway, no notifier
            search = make_search_store(settings, database_url, read_only=True)
        else:
            shop, search = _set_up(settings, env, database_url, client, master_key)
        shop.event_log = EventLog(database_url)
        if not read_only and shop.erasures_found_again:
            # A dump or backup from before an erasure was loaded by other means than
            # `ecovarejo restore`: the keys are destroyed again; record the rest too.
            entries = ErasureLedger(settings.erasure_ledger_path).entries()
            complete_erasures(shop, [e.subject for e in entries])
    except Exception:
        if embedded is not None:
            embedded.stop()
        raise
    built = Container(settings, database_url, redis_url, env, shop, client, embedded, search=search)
    if not read_only:  # sign-in accounts: built on first use (LGPD export and erasure too)
        from infrastructure.accounts_wiring import install_accounts

        install_accounts(built)
    return built


def _log_exists(database_url: str) -> bool:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute("SELECT to_regclass('ecovarejo_events')").fetchone()
    return row is not None and row[0] is not None


def _set_up(
    settings: Settings,
    env: dict[str, str],
    database_url: str,
    client: redis.Redis,
    master_key: KeyWrapper,
) -> tuple[Shop, SearchStore]:
    """Create what is missing (tables, triggers, the search store), one process at a time."""
    with psycopg.connect(database_url, autocommit=True) as lock:
        # Processes starting together (API replicas, a worker, the CLI) would race on
        # CREATE statements ("tuple concurrently updated"): one sets up at a time.
        lock.execute("SELECT pg_advisory_lock(7200)")
        _create_tables(env)
        try:
            check_master_key(database_url, master_key)
        except MasterKeyError as e:
            raise ConfigurationError(str(e)) from None
        # A dump loaded by hand may bring back keys that erasures destroyed: not for long.
        again = reapply_erasures(database_url, ErasureLedger(settings.erasure_ledger_path))
        if again:
            log.warning("destroyed again %d data keys the erasure ledger names", again)
        install_immutability_guard(database_url)
        install_chain(database_url)
        gateways = build_gateways(settings, client, settings.data_dir)
        shop = Shop(env=env, gateways=gateways)
        shop.erasures_found_again = again  # the whole erasures are recorded once it is wired
        # The notifier decrypts a customer's e-mail only when it sends to them.
        shop.notifier = make_notifier(settings, client, shop.email_of)
        shop.pix_expiry_s, shop.boleto_days = settings.pix_expiry_s, settings.boleto_days
        shop.carrier = make_carrier(settings)
        shop.ship_from_postal_code = settings.sender["postal_code"]
        shop.return_windows = settings.return_windows
        shop.quote_valid_for = timedelta(seconds=settings.shipping_quote_valid_s)
        shop.fiscal, shop.invoice_on = make_fiscal_provider(settings), settings.invoice_on
        shop.interest_free_installments = settings.interest_free_installments
        shop.authentication_expiry_s = settings.authentication_expiry_s
        shop.raw_cards_allowed = not settings.production  # card numbers: sandbox, dev only
        search = make_search_store(settings, database_url)
    return shop, search
