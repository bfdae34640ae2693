"""The console answers only its own Host names (DNS rebinding).

A page on another site can point its own name at 127.0.0.1 (DNS rebinding): the browser
then sends that page's requests to the console on this machine with the page's name in
`Host`, from a loopback peer — the one thing the dev login checked. So every console route
first checks `Host` against `ECOVAREJO_ALLOWED_HOSTS`; on the embedded default, when that
is unset, only this machine's own names pass. With servers configured and the setting
unset any name passes: there is no dev login then, and a session cookie is never sent to
another site's name.

It is the console's own router dependency (api/console/__init__.py), not a middleware: the
API under /api/v1 is reached by clients by any name a proxy gives it.
"""

from __future__ import annotations

from fastapi import HTTPException, Request

from infrastructure.settings import Settings

LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
ANY = "*"


def allowed_hosts(settings: Settings) -> frozenset[str] | None:
    """The names the console answers to (None: any)."""
    if settings.allowed_hosts is not None:
        names = frozenset(name.strip().lower().rstrip(".") for name in settings.allowed_hosts)
        return None if ANY in names else names
    return LOCAL_HOSTS if settings.embedded else None


def host_name(header: str) -> str:
    """The name in a Host header, without its port: `[::1]:8000` -> `::1`."""
    header = header.strip().lower()
    if header.startswith("["):  # an IPv6 literal
        return header[1:].partition("]")[0]
    name, _, port = header.rpartition(":")
    if not name or not port.isdigit():
        name = header
    return name.rstrip(".")


def is_own_host(request: Request, settings: Settings) -> bool:
    names = allowed_hosts(settings)
    return names is None or host_name(request.headers.get("host", "")) in names


async def own_host(request: Request) -> None:
    """Every console route's first check: a request naming another host is a 400."""
    if not is_own_host(request, request.app.state.container.settings):
        raise HTTPException(400, "this console answers only its own host names")
