"""The one wiring function. The API, the worker, the CLI and the tests all call `bootstrap`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property, partial
from typing import Any

import redis
from eventsourcing.persistence import TrackingRecorder

from application.carriers import Carrier
from application.checkout.payments import PaymentDeadlines
from application.customers import email_of
from application.event_store import EventStore
from application.fiscal import FiscalProvider
from application.keys import KeyWrapperUnavailableError, ReadModelSealer
from application.lgpd import AccountHooks, complete_erasures
from application.ports import Notifier
from application.services import Services, ServiceSettings, build
from infrastructure.accounts_wiring import LazyAccountHooks, install_accounts
from infrastructure.configuration import ConfigurationError
from infrastructure.gateways.carriers.melhor_envio import MelhorEnvio
from infrastructure.gateways.fiscal.focus_nfe import FocusNfe
from infrastructure.gateways.notifications import (
    FileNotifier,
    OncePerKey,
    SmtpNotifier,
    WebhookNotifier,
)
from infrastructure.gateways.payments.registry import build_gateways
from infrastructure.keys.data_keys import conninfo_from_env, hold_key_pool, release_key_pool
from infrastructure.keys.erasure_ledger import ErasureLedger
from infrastructure.keys.master_key import MasterKeyError
from infrastructure.keys.wrappers import key_wrapper_of
from infrastructure.observability import tracing
from infrastructure.read_stores.position_waits import PositionWaits
from infrastructure.read_stores.projection_admin import ReadSideAdmin
from infrastructure.read_stores.redis_views import LoopRedis, RedisDocumentView, active_position
from infrastructure.runtime.embedded import EmbeddedServers
from infrastructure.runtime.feed import WorkerFeed
from infrastructure.runtime.followers import (
    READ_MODELS,
    REDIS_READ_MODELS,
    RUNNERS,
    effects_tracking,
)
from infrastructure.runtime.processing import Processing
from infrastructure.runtime.runners import Leases, Supervisor
from infrastructure.runtime.saga_partitions import RETRY_ENV
from infrastructure.settings import Settings
from infrastructure.store.event_log import ChainKeeper, EventLog
from infrastructure.store.event_store import eventsourcing_env
from infrastructure.store.setup import SetupRefusedError, log_exists, set_up, setup_lock
from projections.readers import Readers
from projections.search import SearchStore, active_index

log = logging.getLogger(__name__)

# Kept for callers of the first version: the registry is `infrastructure.runtime.followers`.
REDIS_PROJECTIONS = REDIS_READ_MODELS
REBUILDABLE = tuple(READ_MODELS)
# The lease units: every runner a worker runs under a lease (see infrastructure.runtime.runners).
FOLLOWERS = list(RUNNERS)


def make_search_store(
    settings: Settings, database_url: str, *, read_only: bool = False
) -> SearchStore:
    """ELASTICSEARCH_URL set: Elasticsearch; else PostgreSQL full-text search in the event
    store's database (the embedded default). Imported here: the Elasticsearch client is
    slow to import and most processes never need it."""
    if settings.elasticsearch_url:
        from infrastructure.read_stores.search_elasticsearch import ElasticsearchSearchStore

        return ElasticsearchSearchStore(settings.elasticsearch_url, synonyms=settings.synonyms())
    from infrastructure.read_stores.search_postgres import PostgresSearchStore

    pool_size = 1 if read_only else min(settings.pool_size, 4)
    return PostgresSearchStore(
        database_url, pool_size=pool_size, read_only=read_only, synonyms=settings.synonyms()
    )


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
    services: Services
    redis: redis.Redis
    embedded: EmbeddedServers | None = None
    search: SearchStore | None = None
    aredis: LoopRedis = field(init=False)
    position_waits: PositionWaits = field(init=False)  # consistency tokens' waits
    processing: Processing = field(init=False)  # the runners' and workers' life cycle
    keys_held: str | None = None  # the key pool this container holds open (data_keys)

    def __post_init__(self) -> None:
        self.aredis = LoopRedis(self.redis_url)
        self.position_waits = PositionWaits(self.aredis)
        self.processing = Processing(self)

    # What runs in this process (infrastructure/runtime/processing.py), for its many callers.
    @property
    def supervisors(self) -> dict[str, Supervisor]:
        return self.processing.supervisors

    @property
    def actors(self) -> Any:
        return self.processing.actors

    @property
    def feed(self) -> WorkerFeed | None:
        return self.processing.feed

    @property
    def chain_keeper(self) -> ChainKeeper | None:
        return self.processing.chain_keeper

    @property
    def leases(self) -> Leases | None:
        return self.processing.leases

    @property
    def worker(self) -> Any:
        return self.processing.worker

    @property
    def read_side(self) -> ReadSideAdmin:
        """The read side as operators act on it (application/operations/read_side.py)."""
        return ReadSideAdmin(self)

    def start_processing(self, runners: list[str] | None = None) -> None:
        self.processing.start(runners)

    def start_runner(self, name: str, *, leased: bool = False) -> Supervisor:
        return self.processing.start_runner(name, leased=leased)

    def stop_runner(self, name: str) -> None:
        self.processing.stop_runner(name)

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
            self.sealer,
        )

    @cached_property
    def sealer(self) -> ReadModelSealer:
        """Built once: the key store behind it is read from the environment (and its pool
        and cache are shared per process anyway); every request's readers used to build it."""
        return ReadModelSealer(self.services.store.keys)

    async def position_async(self, name: str) -> int:
        """A read model's position, for the event loop: Redis read asynchronously, the
        search store (a blocking client) in a worker thread."""
        model = READ_MODELS[name]
        if model.store == "redis":
            return await active_position(self.aredis.client(), name)
        return await asyncio.to_thread(lambda: model.open(self).position())

    async def reached_async(self, name: str, position: int, timeout: float) -> bool:
        """Whether read model `name` reaches `position` within `timeout` seconds, for the
        event loop: a Redis read model woken by its writes' announcements
        (`position_waits`), the search store polled from a worker thread."""
        if READ_MODELS[name].store == "redis":
            return await self.position_waits.reached(name, position, timeout)
        deadline = time.monotonic() + timeout
        delay = 0.002
        while await self.position_async(name) < position:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
        return True

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
        return self.services.store.recorder.max_notification_id() or 0

    def effects_tracking(self) -> TrackingRecorder:
        return effects_tracking(self)

    def close(self) -> None:
        try:
            self.processing.stop()
            if self.search is not None:
                self.search.close()
            self.services.store.close()
            self.redis.close()
        finally:  # whatever failed above, leave no pool or embedded server behind
            if self.keys_held is not None:
                release_key_pool(self.keys_held)
                self.keys_held = None
            if self.embedded is not None:
                self.embedded.stop()


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
    keys_held: str | None = None
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
        keys_held = conninfo_from_env(env)
        hold_key_pool(keys_held)
        client = redis.Redis.from_url(redis_url)
        client.ping()
        if read_only and not log_exists(database_url):
            read_only = False  # a fresh system: nothing to read without the tables
        event_log = EventLog(database_url)
        hooks = None if read_only else LazyAccountHooks()
        if read_only:
            env = {**env, "POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "1"}
            env["CREATE_TABLE"] = "n"
            # reads only: no gateway, no notifier
            services = build(EventStore(env=env), event_log=event_log)
            search = make_search_store(settings, database_url, read_only=True)
            again = 0
        else:
            with setup_lock(database_url):  # the store's tables are made on first use too
                try:
                    again = set_up(settings, env, database_url, master_key)
                except SetupRefusedError as e:
                    raise ConfigurationError(str(e)) from None
                services = _services(settings, env, client, event_log, hooks)
                search = make_search_store(settings, database_url)
        if again:
            # A dump or backup from before an erasure was loaded by other means than
            # `ecovarejo restore`: the keys are destroyed again; record the rest too.
            entries = ErasureLedger(settings.erasure_ledger_path).entries()
            complete_erasures(services.data_subjects, [e.subject for e in entries])
    except Exception:
        if keys_held is not None:
            release_key_pool(keys_held)
        if embedded is not None:
            embedded.stop()
        raise
    built = Container(
        settings,
        database_url,
        redis_url,
        env,
        services,
        client,
        embedded,
        search=search,
        keys_held=keys_held,
    )
    if hooks is not None:  # sign-in accounts: built on first use (LGPD export and erasure too)
        install_accounts(built, hooks)
    return built


def service_settings(settings: Settings) -> ServiceSettings:
    """What the services take from the settings, read once."""
    return ServiceSettings(
        deadlines=PaymentDeadlines(
            pix_expiry_s=settings.pix_expiry_s,
            boleto_days=settings.boleto_days,
            authentication_expiry_s=settings.authentication_expiry_s,
        ),
        interest_free_installments=settings.interest_free_installments,
        raw_cards_allowed=not settings.production,  # card numbers: sandbox, dev only
        return_windows=settings.return_windows,
        ship_from_postal_code=settings.sender["postal_code"],
        invoice_on=settings.invoice_on,
        shipping_quote_valid_for=timedelta(seconds=settings.shipping_quote_valid_s),
    )


def _services(
    settings: Settings,
    env: dict[str, str],
    client: redis.Redis,
    event_log: EventLog,
    hooks: AccountHooks | None,
) -> Services:
    store = EventStore(env=env)
    return build(
        store,
        gateways=build_gateways(settings, client, settings.data_dir),
        # The notifier decrypts a customer's e-mail only when it sends to them.
        notifier=make_notifier(settings, client, partial(email_of, store)),
        carrier=make_carrier(settings),
        fiscal=make_fiscal_provider(settings),
        event_log=event_log,
        account_hooks=hooks,
        settings=service_settings(settings),
    )
