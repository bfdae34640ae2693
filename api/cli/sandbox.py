"""`ecovarejo sandbox pay PAYMENT_ID [--expire]`: the sandbox gateway's payer.

It plays the customer's bank: it builds the webhook the sandbox gateway sends when a Pix
or a boleto is paid (or left to expire), signed with ECOVAREJO_SANDBOX_WEBHOOK_SECRET, and
delivers it through the same verification as `POST /payments/webhooks/sandbox` — in this
process, or to a running API with `--url`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from uuid import UUID

import typer

from api.cli.common import CliError, connected, emit, parse_uuid

sandbox_app = typer.Typer(
    help="The sandbox gateway's payer, for demos and tests.", no_args_is_help=True
)


@sandbox_app.command("pay")
def pay(
    payment_id: Annotated[str, typer.Argument(help="the payment of a Pix or boleto order")],
    expire: Annotated[bool, typer.Option("--expire", help="let the charge expire instead")] = False,
    amount: Annotated[
        str | None, typer.Option(help="pay another amount than due (tests the mismatch flag)")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="POST the webhook to this API, e.g. http://127.0.0.1:8000")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Pay a Pix or boleto on the sandbox gateway (a signed webhook), or let it expire."""
    pid = parse_uuid(payment_id, "PAYMENT_ID")
    try:
        paid = Decimal(amount) if amount is not None else None
    except InvalidOperation:
        raise CliError(f"--amount must be a decimal, got {amount!r}") from None
    from application.gateways import gateway_named
    from infrastructure.gateways.payments.sandbox import SandboxGateway

    with connected() as container:
        payment = _payment_or_hint(container.services, pid)
        if not payment.is_async:
            raise CliError(f"payment {pid} is a {payment.method} payment, not Pix or boleto")
        gateway = gateway_named(container.services.payments.gateways, payment.gateway)
        charge = gateway.charge(payment.charge_id) if isinstance(gateway, SandboxGateway) else None
        if charge is None or not isinstance(gateway, SandboxGateway):
            where = payment.gateway or "no gateway yet"
            raise CliError(f"payment {pid} has no sandbox charge to pay ({where})")
        headers, body = gateway.payer_webhook(charge, expire=expire, amount=paid)
        if url is None:
            delivery = container.services.payments.receive_webhook("sandbox", headers, {}, body)
            outcome = delivery.outcome
        else:
            outcome = _post(url, headers, body)
    if as_json:
        emit(
            {"payment_id": str(pid), "action": "expired" if expire else "paid", "outcome": outcome}
        )
        return
    typer.echo(f"{'expired' if expire else 'paid'} {pid}: {outcome}")


def _post(url: str, headers: dict[str, str], body: bytes) -> str:
    import httpx

    target = f"{url.rstrip('/')}/api/v1/payments/webhooks/sandbox"
    try:
        response = httpx.post(target, content=body, headers=headers, timeout=10)
    except httpx.HTTPError as error:
        raise CliError(f"could not reach {target}: {type(error).__name__}") from None
    if response.status_code != 200:
        raise CliError(f"{target} answered {response.status_code}: {response.text[:200]}")
    return str(response.json().get("outcome"))


def _payment_or_hint(services: Any, pid: UUID) -> Any:
    """The payment; given an order id by mistake, say so and name its payment."""
    from application.errors import OrderNotFoundError, PaymentNotFoundError
    from domain.payment import payment_id_for_order

    try:
        return services.payments.payment(pid)
    except PaymentNotFoundError:
        try:
            services.orders.order_of(pid)
        except OrderNotFoundError:
            raise CliError(f"no payment {pid}") from None
        raise CliError(
            f"{pid} is an order id; its payment is {payment_id_for_order(pid)}: "
            f"ecovarejo sandbox pay {payment_id_for_order(pid)}"
        ) from None
