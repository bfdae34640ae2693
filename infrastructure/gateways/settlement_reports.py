"""Providers' settlement reports, read into `SettlementLine`s (application/reconciliation.py).

Each in its provider's documented shape, from a file (CSV, or the JSON the API gives) or,
where the provider has a plain API for it, from the adapter:

- Stripe: balance transactions (docs.stripe.com/api/balance_transactions/list, amounts in
  centavos, `reporting_category` charge | refund | dispute | payout | fee, `source` expanded
  to name the `payment_intent`), or the CSV of the "Itemized balance change from activity"
  report (docs.stripe.com/reports/report-types/balance: `balance_transaction_id`,
  `created_utc`, `currency`, `gross`, `fee`, `net`, `reporting_category`, `source_id`,
  `payment_intent_id`, amounts in reais).
- Mercado Pago: the settlement report CSV ("Relatório de liquidações", developer docs
  "Reports > Settlement report": `EXTERNAL_REFERENCE`, `SOURCE_ID`, `TRANSACTION_TYPE`
  SETTLEMENT | REFUND | CHARGEBACK | PAYOUTS, `TRANSACTION_AMOUNT`, `TRANSACTION_CURRENCY`,
  `TRANSACTION_DATE`, `FEE_AMOUNT`, `SETTLEMENT_NET_AMOUNT`; `,` or `;` separated).
- PagBank: the EDI financial extract (`detalhes[]` with `codigo_transacao`, `codigo_venda`
  (our reference), `tipo_evento` 1 sale | 4 transfer | 5 chargeback | 6 cancellation,
  `valor_total_transacao`, `taxa_intermediacao`, `valor_liquido_transacao`,
  `data_venda_ajuste`), as JSON or a CSV with those columns.
- The sandbox: its acquirers' ledgers (what `ledger()` holds), as a real acquirer's books.

A row that cannot be read becomes a line of kind `unreadable` (listed as a discrepancy),
never a crash. Rows without an id of their own are identified by their content, so a row
repeated in a file is a duplicate.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from application.reconciliation import SettlementLine
from domain.money import InvalidMoneyError, Money

STRIPE_KINDS = {
    "charge": "capture",
    "refund": "refund",
    "dispute": "chargeback",
    "payout": "payout",
    "fee": "fee",
}
MERCADOPAGO_KINDS = {
    "SETTLEMENT": "capture",
    "REFUND": "refund",
    "CHARGEBACK": "chargeback",
    "PAYOUTS": "payout",
}
PAGBANK_KINDS = {"1": "capture", "4": "payout", "5": "chargeback", "6": "refund"}


class UnreadableReportError(ValueError):
    """The file is not a report of that provider at all (not a row could be read)."""


def _money(value: Any, *, centavos: bool = False) -> Money:
    amount = Decimal(str(value).strip() or "0")
    return Money(abs(amount / 100 if centavos else amount))


def _read(
    row: Mapping[str, Any], build: Callable[[Mapping[str, Any]], SettlementLine]
) -> SettlementLine:
    try:
        return build(row)
    except (KeyError, TypeError, ValueError, InvalidOperation, InvalidMoneyError):
        content = json.dumps(row, sort_keys=True, default=str)
        return SettlementLine(content, "unreadable", Money.zero(), Money.zero(), "BRL")


def _content_id(row: Mapping[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, default=str)


def stripe_line(txn: Mapping[str, Any]) -> SettlementLine:
    """A balance transaction of the API (centavos) or a row of the itemized CSV (reais)."""
    if "balance_transaction_id" in txn:  # the CSV report
        return SettlementLine(
            str(txn["balance_transaction_id"]),
            STRIPE_KINDS.get(str(txn["reporting_category"]), str(txn["reporting_category"])),
            _money(txn["gross"]),
            _money(txn.get("fee") or "0"),
            str(txn["currency"]).upper(),
            source_id=str(txn.get("payment_intent_id") or txn.get("source_id") or ""),
            at=str(txn.get("created_utc", "")),
        )
    source = txn.get("source")
    intent = source.get("payment_intent") if isinstance(source, dict) else None
    category = str(txn.get("reporting_category") or txn["type"])
    return SettlementLine(
        str(txn["id"]),
        STRIPE_KINDS.get(category, category),
        _money(txn["amount"], centavos=True),
        _money(txn.get("fee") or 0, centavos=True),
        str(txn["currency"]).upper(),
        source_id=str(intent or (source if isinstance(source, str) else "") or ""),
        at=str(txn.get("created", "")),
    )


def mercadopago_line(row: Mapping[str, Any]) -> SettlementLine:
    kind = str(row["TRANSACTION_TYPE"]).strip().upper()
    return SettlementLine(
        _content_id(row),
        MERCADOPAGO_KINDS.get(kind, kind.lower()),
        _money(row["TRANSACTION_AMOUNT"]),
        _money(row.get("FEE_AMOUNT") or "0"),
        str(row["TRANSACTION_CURRENCY"]).strip().upper(),
        source_id=str(row.get("SOURCE_ID") or "").strip(),
        reference=str(row.get("EXTERNAL_REFERENCE") or "").strip(),
        at=str(row.get("TRANSACTION_DATE") or ""),
    )


def pagbank_line(row: Mapping[str, Any]) -> SettlementLine:
    kind = str(row["tipo_evento"]).strip()
    return SettlementLine(
        _content_id(row),
        PAGBANK_KINDS.get(kind, f"evento_{kind}"),
        _money(row["valor_total_transacao"]),
        _money(row.get("taxa_intermediacao") or "0"),
        str(row.get("moeda") or "BRL").upper(),
        source_id=str(row.get("codigo_transacao") or ""),
        reference=str(row.get("codigo_venda") or ""),
        at=str(row.get("data_venda_ajuste") or ""),
    )


def sandbox_line(row: Mapping[str, Any]) -> SettlementLine:
    return SettlementLine(
        str(row["key"]),
        {"capture": "capture", "refund": "refund"}.get(str(row["op"]), str(row["op"])),
        _money(row["amount"]),
        Money.zero(),
        "BRL",
        source_id=str(row.get("authorization_id") or ""),
    )


PARSERS: dict[str, Callable[[Mapping[str, Any]], SettlementLine]] = {
    "stripe": stripe_line,
    "mercadopago": mercadopago_line,
    "pagseguro": pagbank_line,
    "sandbox": sandbox_line,
}


def rows_of(text: str) -> list[dict[str, Any]]:
    """The rows of a JSON report (a list, or Stripe's `data` / PagBank's `detalhes`) or of
    a CSV (`,` or `;` separated)."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        found = json.loads(stripped)
        if isinstance(found, dict):
            found = found.get("data", found.get("detalhes"))
        if not isinstance(found, list) or not all(isinstance(r, dict) for r in found):
            raise UnreadableReportError("a JSON report must be a list of objects")
        return found
    dialect = csv.Sniffer().sniff(stripped.splitlines()[0] if stripped else ",", ",;")
    return list(csv.DictReader(io.StringIO(stripped), dialect=dialect))


def parse_report(provider: str, text: str) -> list[SettlementLine]:
    build = PARSERS[provider]
    try:
        rows = rows_of(text)
    except (ValueError, csv.Error) as error:
        raise UnreadableReportError(f"not a {provider} settlement report: {error}") from None
    lines = [_read(row, build) for row in rows]
    if rows and all(line.kind == "unreadable" for line in lines):
        raise UnreadableReportError(f"not a {provider} settlement report: no row could be read")
    return lines


def lines_of(provider: str, rows: Iterable[Mapping[str, Any]]) -> list[SettlementLine]:
    """Rows an adapter fetched (Stripe's API, the sandbox's ledger), read the same way."""
    return [_read(row, PARSERS[provider]) for row in rows]
