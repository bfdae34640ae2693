"""What every storefront page shares: templates and words (pt-BR first, English), the
shopper's session (the account's access token and refresh token in HttpOnly cookies), CSRF
on forms, forms that keep what the shopper typed, and the two caching policies (catalog
pages public with an ETag, personal pages `private, no-store`)."""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from hashlib import blake2b
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from api.console.format import money_text, number_text
from api.http.auth import AuthenticationError, Principal, TokenVerifier
from api.http.http_cache import NO_STORE, content_tag, none_match
from api.http.text import text_problem
from api.storefront.assets import asset_url
from api.storefront.i18n import LANGUAGES, WORDS
from api.storefront.messages import problem_text
from domain.base import DomainError, update_metadata
from domain.card import BRAZILIAN_STATES, Address
from infrastructure.bootstrap import Container
from infrastructure.read_stores.redis_keys import storefront_page_key
from projections.readers import Readers

PREFIX = "/loja"
SESSION_COOKIE = "ev_shop_session"
REFRESH_COOKIE = "ev_shop_refresh"
CSRF_COOKIE = "ev_shop_csrf"
LANG_COOKIE = "ev_shop_lang"
CSRF_FIELD = "csrf"
# Our own scripts, styles and images only; no inline script or style; forms post to us;
# the service worker and manifest are ours; nothing frames the shop.
STOREFRONT_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; manifest-src 'self'; worker-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
MAX_FIELDS = 30
MAX_BODY_CHARS = 20_000

# Templates are package files that change only with a new deployment (a new process): no
# `auto_reload`, else every page stats each template it includes (14 on a search page) to
# see whether it changed.
templates = Environment(
    loader=PackageLoader("api.storefront", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)


def _money(value: Any, lang: str = "pt") -> str:
    return money_text(value, lang)


templates.filters.update(money=_money, number=number_text)
templates.globals.update(asset=asset_url)


async def container_of(request: Request) -> Container:
    # async: a plain `def` dependency would cost a thread-pool hand-off per request
    container: Container = request.app.state.container
    return container


ShopContainer = Annotated[Container, Depends(container_of)]


def shop_readers(request: Request) -> Readers:
    """The read models' readers, made once per app (`Container.readers` builds a new set
    each time it is read); they open the active generation of their read model on every
    query, so a rebuild's swap is still seen."""
    readers: Readers | None = getattr(request.app.state, "storefront_readers", None)
    if readers is None:
        readers = request.app.state.container.readers
        request.app.state.storefront_readers = readers
    return readers


# Language -------------------------------------------------------------------------------
def language(request: Request, public: bool = False) -> str:
    """`?lang=` first; personal pages also remember the choice in a cookie. Catalog pages
    read only the URL, so a shared cache keeps one copy per language."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return str(asked)
    if not public and request.cookies.get(LANG_COOKIE) in LANGUAGES:
        return str(request.cookies[LANG_COOKIE])
    return "pt"


def link(path: str, lang: str, **params: Any) -> str:
    """A storefront URL in the page's language (English pages carry `lang=en`)."""
    query = {k: v for k, v in params.items() if v not in (None, "")}
    if lang != "pt":
        query["lang"] = lang
    return f"{path}?{urlencode(query)}" if query else path


# Session --------------------------------------------------------------------------------
@dataclass
class Pending:
    """Cookies to set or drop on whatever answer this request ends with."""

    set: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    drop: list[str] = field(default_factory=list)


def pending(request: Request) -> Pending:
    found = getattr(request.state, "storefront_cookies", None)
    if found is None:
        found = Pending()
        request.state.storefront_cookies = found
    return found


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def keep_session(request: Request, access: str, refresh: str, refresh_ttl_s: int) -> None:
    cookies = pending(request)
    cookies.set[SESSION_COOKIE] = (access, None)
    cookies.set[REFRESH_COOKIE] = (refresh, refresh_ttl_s)


def end_session(request: Request) -> None:
    pending(request).drop.extend([SESSION_COOKIE, REFRESH_COOKIE])


async def _verified(request: Request, token: str) -> Principal | None:
    verifier: TokenVerifier = request.app.state.verifier
    try:
        principal = await verifier.verify_async(token)
    except AuthenticationError:
        return None
    if principal.role != "customer":
        return None
    if principal.jti:
        from infrastructure.store.account_store import access_revoked

        revoked = await access_revoked(
            request.app.state.container.aredis.client(),
            principal.sub,
            principal.jti,
            principal.family,
            principal.issued_at,
        )
        if revoked:
            return None
    return principal


async def shopper(request: Request) -> Principal | None:
    """The signed-in shopper: the access-token cookie, else a refresh (the refresh token
    rotates, as docs/accounts.md asks of a web storefront), else nobody."""
    if hasattr(request.state, "shopper"):
        cached: Principal | None = request.state.shopper
        return cached
    principal = None
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        principal = await _verified(request, token)
    if principal is None and request.cookies.get(REFRESH_COOKIE):
        principal = await _refreshed(request, request.cookies[REFRESH_COOKIE])
    if principal is not None:
        update_metadata(actor=principal.actor)
    request.state.shopper = principal
    return principal


async def _refreshed(request: Request, refresh_token: str) -> Principal | None:
    from domain.base import DomainError
    from infrastructure.accounts_wiring import account_system

    container: Container = request.app.state.container
    address = request.client.host if request.client else "unknown"
    try:
        pair = await run_in_threadpool(
            account_system(container).signin.refresh, refresh_token[:300], address
        )
    except DomainError:
        end_session(request)
        return None
    keep_session(
        request, pair.access_token, pair.refresh_token, container.settings.refresh_token_ttl_s
    )
    return await _verified(request, pair.access_token)


class SignInFirst(Exception):
    """A personal page asked for by a stranger: the sign-in page, then back here."""

    def __init__(self, path: str):
        self.path = path


async def signed_in(request: Request) -> Principal:
    principal = await shopper(request)
    if principal is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInFirst(target)
    return principal


Shopper = Annotated[Principal, Depends(signed_in)]


# CSRF and forms -------------------------------------------------------------------------
def csrf_token(request: Request) -> str:
    """Double submit: this browser's token, in an HttpOnly SameSite cookie and in every
    form of a personal page."""
    token = getattr(request.state, "csrf", None)
    if token is None:
        token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        request.state.csrf = token
    return str(token)


def same_origin(request: Request) -> bool:
    """Fetch metadata or Origin say this post comes from a page of ours (OWASP's CSRF
    defence for the catalog pages' add-to-cart form, which a shared cache keeps and so
    cannot carry a per-browser token)."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return False
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def read_form(request: Request, token_required: bool = True) -> dict[str, str]:
    """A storefront form: url-encoded, each field once, from one of our pages (CSRF token
    and origin); the fields' text is checked by the page, which shows what is wrong."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise HTTPException(415, "send the form from the shop's page")
    try:
        text = (await request.body()).decode("utf-8")
        parsed = parse_qs(text, keep_blank_values=True, max_num_fields=MAX_FIELDS, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(422, "the form could not be read") from None
    if len(text) > MAX_BODY_CHARS or any(len(v) != 1 for v in parsed.values()):
        raise HTTPException(422, "the form could not be read")
    fields = {k: v[0] for k, v in parsed.items()}
    given = fields.pop(CSRF_FIELD, "")
    if not same_origin(request):
        raise HTTPException(403, "this form was not sent from the shop")
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if token_required and (not cookie or not hmac.compare_digest(cookie.encode(), given.encode())):
        raise HTTPException(403, "this form expired: open the page again and resend it")
    return fields


async def form(request: Request) -> dict[str, str]:
    return await read_form(request, token_required=True)


Form = Annotated[dict[str, str], Depends(form)]


class Fields:
    """A form's fields checked one by one: each problem a message for its field, the
    values kept (control characters dropped) so the page shows what was typed."""

    def __init__(self, raw: dict[str, str], words: dict[str, str]):
        self.raw = raw
        self.words = words
        self.errors: dict[str, str] = {}
        self.values: dict[str, str] = {}

    def text(self, name: str, max_chars: int, required: bool = True, strip: bool = True) -> str:
        value = self.raw.get(name, "")
        value = value.strip() if strip else value
        shown = "".join(c for c in value if c.isprintable() or c in "\n\t")[:max_chars]
        self.values[name] = shown
        if required and not value:
            self.errors[name] = self.words["err_required"]
        elif len(value) > max_chars:
            self.errors[name] = self.words["err_too_long"].format(n=max_chars)
        elif text_problem(value):
            self.errors[name] = self.words["err_control"]
        return value if name not in self.errors else ""

    def fail(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    @property
    def ok(self) -> bool:
        return not self.errors


# Answers --------------------------------------------------------------------------------
def finish(request: Request, response: Response, public: bool = False) -> Response:
    """Every storefront answer: its CSP, its caching, and the cookies this request set."""
    response.headers["Content-Security-Policy"] = STOREFRONT_CSP
    if not public:
        response.headers["Cache-Control"] = NO_STORE
    options: dict[str, Any] = {
        "httponly": True,
        "samesite": "lax",
        "secure": secure(request),
        "path": PREFIX,
    }
    cookies = pending(request)
    for name, (value, max_age) in cookies.set.items():
        response.set_cookie(name, value, max_age=max_age, **options)
    for name in cookies.drop:
        if name not in cookies.set:
            response.delete_cookie(name, path=PREFIX)
    if not public:
        if request.cookies.get(CSRF_COOKIE) != csrf_token(request):
            response.set_cookie(CSRF_COOKIE, csrf_token(request), **options)
        asked = request.query_params.get("lang")
        if asked in LANGUAGES and request.cookies.get(LANG_COOKIE) != asked:
            response.set_cookie(LANG_COOKIE, asked, max_age=365 * 86400, **options)
    return response


def redirect(request: Request, url: str) -> Response:
    return finish(request, RedirectResponse(url, 303))


def page_html(request: Request, template: str, lang: str, **context: Any) -> str:
    words = WORDS[lang]
    return templates.get_template(template).render(
        request=request,
        t=words,
        lang=lang,
        html_lang="pt-BR" if lang == "pt" else "en",
        u=lambda path, **params: link(path, lang, **params),
        prefix=PREFIX,
        other_lang=[(code, _switch(request, code)) for code in LANGUAGES if code != lang],
        **context,
    )


def _switch(request: Request, lang: str) -> str:
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    if lang != "pt":
        query["lang"] = lang
    return f"{request.url.path}?{urlencode(query)}" if query else request.url.path


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    """A personal page (or a form's answer): `private, no-store`, with a CSRF token."""
    lang = language(request)
    principal = getattr(request.state, "shopper", None)
    body = page_html(
        request,
        template,
        lang,
        csrf=csrf_token(request),
        csrf_field=CSRF_FIELD,
        shopper=principal,
        personal=True,
        **context,
    )
    return finish(request, HTMLResponse(body, status_code=status))


@dataclass(frozen=True)
class PublicPolicy:
    max_age_s: int
    stale_while_revalidate_s: int


def render_public(
    request: Request, template: str, max_age_s: int, swr_s: int, **context: Any
) -> Response:
    """A catalog page: the same for every visitor (nothing personal on it), so browsers,
    proxies and CDNs may keep it: `public, max-age, stale-while-revalidate` and a strong
    ETag of its bytes (304 when the client holds them), as the catalog API."""
    return public_answer(request, public_html(request, template, **context), max_age_s, swr_s)


def public_html(request: Request, template: str, **context: Any) -> bytes:
    lang = language(request, public=True)
    body = page_html(
        request, template, lang, csrf="", csrf_field=CSRF_FIELD, personal=False, **context
    )
    return body.encode()


def public_answer(request: Request, data: bytes, max_age_s: int, swr_s: int) -> Response:
    etag = content_tag(data)
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={max_age_s}, stale-while-revalidate={swr_s}",
        "Vary": "Accept-Encoding",
    }
    if none_match(request.headers.get("if-none-match"), etag):
        return finish(request, Response(status_code=304, headers=headers), public=True)
    return finish(request, HTMLResponse(data, headers=headers), public=True)


# A rendered search-backed page (home, search) is reused by every process for this long:
# a popular page is searched and rendered about once a second instead of once a request,
# and a change (a price, a new product, a rebuild's swap) shows within it. Far below the
# pages' own `max-age`, which lets any browser or CDN keep them for minutes.
PAGE_CACHE_MS = 1000


def _page_key(request: Request) -> str:
    """The page's URL decides all it shows (language included: public pages read no
    cookie), so it is the key, as a digest."""
    url = f"{request.url.path}?{request.url.query}".encode()
    return storefront_page_key(blake2b(url, digest_size=16).hexdigest())


async def catalog_page(
    request: Request,
    template: str,
    max_age_s: int,
    swr_s: int,
    context: Callable[[], Awaitable[dict[str, Any]]],
) -> Response:
    """`render_public` through the shared page micro-cache: `context()` (the reads) and
    the rendering run only when no process made this page within `PAGE_CACHE_MS`."""
    client = request.app.state.container.aredis.client()
    key = _page_key(request)
    data = await client.get(key)
    if not isinstance(data, bytes):

        async def make() -> bytes:
            made = public_html(request, template, **await context())
            await client.set(key, made, px=PAGE_CACHE_MS)
            return made

        data = await made_once(key, make)
    return public_answer(request, data, max_age_s, swr_s)


# Pages being made by this process, by key: when the second ends, the requests that find
# the page gone wait for the one making it instead of all searching at once (a burst of
# identical searches on the thread pool, which stalled every page behind them).
_making: dict[tuple[asyncio.AbstractEventLoop, str], asyncio.Future[bytes]] = {}


async def made_once(key: str, make: Callable[[], Coroutine[Any, Any, bytes]]) -> bytes:
    """`make()`'s page, made by one task of this event loop at a time for `key`; the
    callers that come meanwhile get its bytes (or its error)."""
    loop = asyncio.get_running_loop()
    running = _making.get((loop, key))
    if running is not None:
        return await asyncio.shield(running)
    task: asyncio.Task[bytes] = loop.create_task(make())
    _making[(loop, key)] = task
    task.add_done_callback(lambda _: _making.pop((loop, key), None))
    return await asyncio.shield(task)


def digits_only(value: str) -> bool:
    """ASCII digits only: `str.isdigit` also takes "²" and "①", which `int` refuses."""
    return value.isascii() and value.isdigit()


def address_from(fields: Fields, lang: str) -> Address | None:
    """The address of a form (checkout's or the account's), each problem said at its field."""
    line1 = fields.text("line1", 120)
    line2 = fields.text("line2", 120, required=False)
    city = fields.text("city", 80)
    state = fields.text("state", 2).upper()
    cep = fields.text("postal_code", 9).replace(" ", "")
    digits = cep.replace("-", "")
    if "postal_code" not in fields.errors and not (digits_only(digits) and len(digits) == 8):
        fields.fail("postal_code", fields.words["err_cep"])
    if "state" not in fields.errors and state not in BRAZILIAN_STATES:
        fields.fail("state", fields.words["err_state"])
    if not fields.ok:
        return None
    try:
        return Address(line1, line2, city, state, f"{digits[:5]}-{digits[5:]}")
    except DomainError as error:
        fields.fail("line1", problem_text(error, lang))
        return None
