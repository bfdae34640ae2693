"""What every console page shares: templates, language, the signed-in principal (a JWT in
an HttpOnly, SameSite=Strict cookie, verified on every request like a bearer token), CSRF
tokens on forms, and error pages with the API's status codes."""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from api.console.format import FILTERS
from api.console.i18n import LANGUAGES, MESSAGES, pick
from api.http.auth import PII_SCOPE, AuthenticationError, Principal, Role, TokenVerifier
from api.http.text import text_problem
from domain.base import current_metadata, update_metadata
from infrastructure.bootstrap import Container

PREFIX = "/console"
SESSION_COOKIE = "ev_console"
CSRF_COOKIE = "ev_console_csrf"
LANG_COOKIE = "ev_console_lang"
CSRF_FIELD = "csrf"
# The API's headers, with the one CSP an HTML page needs: its own stylesheet, its own SVG
# and images, forms posting to itself; no script at all, nothing from elsewhere, no framing.
CONSOLE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
MAX_FIELDS = 20
MAX_FIELD_CHARS = 20_000

templates = Environment(
    loader=PackageLoader("api.console", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters.update(FILTERS)  # money, when, word, cep, cpf… (api/console/format.py)


disclosures = logging.getLogger("ecovarejo.disclosure")


def reveals_personal_data(principal: Principal) -> bool:
    """As the API: auditors see personal fields masked unless their token holds the
    `auditor:pii` scope; admins (who see addresses on orders anyway) see them."""
    return principal.role != "auditor" or PII_SCOPE in principal.scopes


def log_disclosure(principal: Principal, what: str) -> None:
    """An auditor shown personal data is an access, logged as the API logs it."""
    if principal.role == "auditor" and reveals_personal_data(principal):
        disclosures.warning(
            "personal data disclosed",
            extra={
                "access": "personal_data",
                "actor": principal.actor,
                "scope": PII_SCOPE,
                "aggregate_id": what,
                "correlation_id": current_metadata().correlation_id,
                "via": "console",
            },
        )


class SignInRequired(Exception):
    """A console page asked for by someone not signed in: go to the sign-in page."""

    def __init__(self, path: str):
        self.path = path


def container_of(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


ConsoleContainer = Annotated[Container, Depends(container_of)]


async def signed_in(request: Request) -> Principal | None:
    """The principal of the session cookie, verified as the API verifies bearer tokens."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    verifier: TokenVerifier = request.app.state.verifier
    try:
        principal = await verifier.verify_async(token)
    except AuthenticationError:
        return None
    if principal.jti:  # our own token: signed out, revoked family, deactivated, erased?
        from infrastructure.store.account_store import access_revoked

        container = container_of(request)
        revoked = await access_revoked(
            container.aredis.client(),
            principal.sub,
            principal.jti,
            principal.family,
            principal.issued_at,
        )
        if revoked:
            return None
    update_metadata(actor=principal.actor)
    request.state.principal = principal
    return principal


class ConsoleRole:
    """A console dependency admitting only `roles`: the sign-in page for strangers, a 403
    page for the other roles (the same rule as the API's `require`)."""

    def __init__(self, roles: tuple[Role, ...]):
        self.roles = roles

    async def __call__(self, request: Request) -> Principal:
        principal = await signed_in(request)
        if principal is None:
            raise SignInRequired(request.url.path)
        if principal.role not in self.roles:
            raise HTTPException(403, f"this needs the role {' or '.join(self.roles)}")
        return principal


def role(*roles: Role) -> Any:
    return Depends(ConsoleRole(roles))


def csrf_token(request: Request) -> str:
    """This browser's CSRF token (double submit: the HttpOnly SameSite=Strict cookie must
    equal the hidden form field)."""
    token = getattr(request.state, "csrf", None)
    if token is None:
        token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
        request.state.csrf = token
    return str(token)


def language(request: Request) -> str:
    return pick(
        request.query_params.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("accept-language"),
    )


async def form(request: Request) -> dict[str, str]:
    """A console form: url-encoded (415 otherwise), each field once, small, text by the
    edge's rule (no NUL or other control character; 422), and
    carrying this browser's CSRF token (403 otherwise: a forged post changes nothing)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise HTTPException(415, "a console form is application/x-www-form-urlencoded")
    try:
        text = (await request.body()).decode("utf-8")
        parsed = parse_qs(
            text, keep_blank_values=True, max_num_fields=MAX_FIELDS, strict_parsing=False
        )
    except (UnicodeDecodeError, ValueError):
        raise HTTPException(422, "the form is not valid") from None
    if any(len(v) != 1 or len(v[0]) > MAX_FIELD_CHARS for v in parsed.values()):
        raise HTTPException(422, "each form field must be given once, and be short")
    fields = {k: v[0] for k, v in parsed.items()}
    cookie = request.cookies.get(CSRF_COOKIE, "")
    given = fields.pop(CSRF_FIELD, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), given.encode()):
        raise HTTPException(
            403, "this form was not sent by this console (CSRF token missing or wrong)"
        )
    for name, value in fields.items():
        # The edge's one text rule (pasted tokens may end in a line break: trimmed later).
        problem = text_problem(name) or text_problem(value, multiline=True)
        if problem:
            raise HTTPException(422, f"{name[:40]}: {problem}")
    return fields


Form = Annotated[dict[str, str], Depends(form)]


def _switch(request: Request, lang: str) -> str:
    query = dict(request.query_params)
    query["lang"] = lang
    return f"{request.url.path}?{urlencode(query)}"


def secure(request: Request) -> bool:
    return request.url.scheme == "https"


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A console page: the template with the words of the page's language, the principal,
    the CSRF token; the console's CSP; the CSRF and language cookies kept."""
    lang = language(request)
    words = MESSAGES[lang]
    principal = getattr(request.state, "principal", None)
    body = templates.get_template(template).render(
        request=request,
        t=words,
        lang=lang,
        languages=[(code, _switch(request, code)) for code in LANGUAGES],
        principal=principal,
        csrf=csrf_token(request),
        csrf_field=CSRF_FIELD,
        **context,
    )
    response = HTMLResponse(body, status_code=status)
    response.headers["Content-Security-Policy"] = CONSOLE_CSP
    cookie = {"httponly": True, "samesite": "strict", "secure": secure(request), "path": PREFIX}
    if request.cookies.get(CSRF_COOKIE) != csrf_token(request):
        response.set_cookie(CSRF_COOKIE, csrf_token(request), **cookie)  # type: ignore[arg-type]
    if request.query_params.get("lang") in LANGUAGES and request.cookies.get(LANG_COOKIE) != lang:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, **cookie)  # type: ignore[arg-type]
    return response


def query_string(**params: Any) -> str:
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def pager(total: int, page: int, size: int, **query: Any) -> dict[str, Any]:
    """A list page's paging: its number, how many there are, and the links either side
    (keeping the list's filters `query`)."""
    pages = max(1, -(-total // size))
    return {
        "page": page,
        "pages": pages,
        "previous_link": f"?{query_string(**query, page=page - 1)}" if page > 1 else None,
        "next_link": f"?{query_string(**query, page=page + 1)}" if page < pages else None,
    }
