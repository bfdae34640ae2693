"""Reconciliation: a provider's settlement report against our books, to the centavo.

Our books are the payment events of the log (captures, refunds, chargebacks lost) at one
provider in a date range; the report's lines (`SettlementLine`, read by
infrastructure/gateways/settlement_reports.py from the provider's documented format) say what the
provider settled. Each capture, refund or chargeback line is matched to the book entry of
the same kind and payment (by our payment id when the provider echoes it, else by the
provider's own id of the authorization); fees are summed; payouts (transfers to the bank)
are listed. What is left is listed, never guessed:

- `missing_at_provider`: in our books, not in the report;
- `missing_in_books`: a line about a transaction we do not have (an unknown line);
- `discrepancies`: a duplicate line, another currency, a type we do not know, an amount
  that is not ours.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from application.card_tokens import every_gateway, provider_of
from application.event_store import EventStore
from application.ports import PaymentGateway
from domain.money import Money
from domain.payment import Payment
from domain.settlement import Settlement

KINDS = ("capture", "refund", "chargeback")  # matched one to one against our books
LISTED = ("fee", "payout")  # summed or listed, nothing of ours to match


@dataclass(frozen=True)
class SettlementLine:
    """One line of a provider's report. `amount` is gross and positive; `fee` what the
    provider kept on it; `reference` our payment id when the provider echoes it."""

    line_id: str
    kind: str  # capture | refund | chargeback | fee | payout | anything else: unknown
    amount: Money
    fee: Money
    currency: str
    source_id: str = ""
    reference: str = ""
    at: str = ""


@dataclass(frozen=True)
class BookEntry:
    kind: str
    payment_id: str
    authorization_id: str
    amount: Money
    at: datetime


@dataclass
class Report:
    provider: str
    start: date
    end: date
    matched: list[dict[str, Any]] = field(default_factory=list)
    missing_at_provider: list[dict[str, Any]] = field(default_factory=list)
    missing_in_books: list[dict[str, Any]] = field(default_factory=list)
    discrepancies: list[dict[str, Any]] = field(default_factory=list)
    payouts: list[dict[str, Any]] = field(default_factory=list)
    fees: Money = field(default_factory=Money.zero)
    totals: dict[str, Money] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        found = asdict(self)
        found["start"], found["end"] = self.start.isoformat(), self.end.isoformat()
        found["fees"] = str(self.fees.amount)
        found["totals"] = {k: str(v.amount) for k, v in self.totals.items()}
        return _plain(found)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"amount", "currency"}:
            return str(value["amount"])
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def _line(line: SettlementLine, **extra: Any) -> dict[str, Any]:
    return {**asdict(line), **extra}


def _entry(entry: BookEntry) -> dict[str, Any]:
    return asdict(entry)


def reconcile(
    provider: str, start: date, end: date, lines: Iterable[SettlementLine], books: list[BookEntry]
) -> Report:
    report = Report(provider, start, end)
    by_key: dict[tuple[str, str], list[BookEntry]] = {}
    for book in books:  # a payment may have several refunds: each line takes one
        by_key.setdefault((book.kind, book.payment_id), []).append(book)
        if book.authorization_id:
            by_key.setdefault((book.kind, book.authorization_id), []).append(book)
    seen_lines: set[str] = set()
    used: set[int] = set()
    settled = {kind: Money.zero() for kind in KINDS}
    for line in lines:
        problem = _refused(line, seen_lines)
        seen_lines.add(line.line_id)
        if problem:
            report.discrepancies.append(_line(line, problem=problem))
            continue
        report.fees = report.fees + line.fee
        if line.kind == "payout":
            report.payouts.append(_line(line))
            continue
        if line.kind == "fee":  # a fee on its own line carries it as its amount (Stripe)
            report.fees = report.fees + line.amount
            continue
        candidates = by_key.get((line.kind, line.reference)) or by_key.get(
            (line.kind, line.source_id), []
        )
        free = [e for e in candidates if id(e) not in used]
        if not candidates:
            report.missing_in_books.append(_line(line))
            continue
        if not free:
            report.discrepancies.append(_line(line, problem="duplicate_transaction"))
            continue
        entry = next((e for e in free if e.amount == line.amount), free[0])
        if entry.amount != line.amount:
            used.add(id(entry))
            report.discrepancies.append(
                _line(line, problem="amount_mismatch", books=str(entry.amount.amount))
            )
        else:
            used.add(id(entry))
            settled[line.kind] = settled[line.kind] + line.amount
            report.matched.append(_line(line, payment_id=entry.payment_id))
    report.missing_at_provider = [_entry(e) for e in books if id(e) not in used]
    report.totals = _totals(books, settled, report.fees)
    return report


def _refused(line: SettlementLine, seen: set[str]) -> str:
    if line.line_id in seen:
        return "duplicate_line"
    if line.kind == "unreadable":
        return "unreadable"
    if line.currency.upper() != "BRL":
        return "other_currency"
    if line.kind not in (*KINDS, *LISTED):
        return "unknown_type"
    return ""


def _totals(books: list[BookEntry], settled: dict[str, Money], fees: Money) -> dict[str, Money]:
    ours = {kind: Money.zero() for kind in KINDS}
    for entry in books:
        ours[entry.kind] = ours[entry.kind] + entry.amount
    gross = settled["capture"]
    net = gross - settled["refund"] - settled["chargeback"] - fees
    return {
        "books_captured": ours["capture"],
        "books_refunded": ours["refund"],
        "books_chargebacks": ours["chargeback"],
        "settled_captured": gross,
        "settled_refunded": settled["refund"],
        "settled_chargebacks": settled["chargeback"],
        "fees": fees,
        "net": net,
    }


BOOK_EVENTS = (
    Payment.Authorized,
    Payment.ActionRequired,
    Payment.ChargeIssued,
    Payment.Captured,
    Payment.Paid,
    Payment.Refunded,
    Payment.DisputeLost,
)


def books_of(
    store: EventStore,
    gateways: Sequence[PaymentGateway],
    provider: str,
    start: date,
    end: date,
) -> list[BookEntry]:
    """Our side: the money each payment at `provider` moved from `start` to `end`
    (inclusive, UTC), read from the log (the whole log is read: which gateway holds a
    payment is known from its authorization, maybe older than the range)."""
    topics = [get_topic(cls) for cls in BOOK_EVENTS]
    at_gateway: dict[UUID, tuple[str, str]] = {}  # payment -> (gateway, authorization id)
    entries: list[BookEntry] = []
    position = 0
    while batch := store.recorder.select_notifications(position + 1, 500, topics=topics):
        for notification in batch:
            event = store.mapper.to_domain_event(notification)
            _book(event, at_gateway, entries)
        position = batch[-1].id
    owned = {g.name for g in every_gateway(gateways) if provider_of(g) == provider}
    first, last = start, end
    return [
        e
        for e in entries
        if at_gateway.get(UUID(e.payment_id), ("", ""))[0] in owned
        and first <= e.at.astimezone(UTC).date() <= last
    ]


def _book(event: Any, at_gateway: dict[UUID, tuple[str, str]], entries: list[BookEntry]) -> None:
    pid = event.originator_id
    if isinstance(event, Payment.Authorized | Payment.ActionRequired):
        at_gateway[pid] = (event.gateway, event.authorization_id)
        return
    if isinstance(event, Payment.ChargeIssued):
        at_gateway[pid] = (event.gateway, event.charge_id)
        return
    kind = {
        Payment.Captured: "capture",
        Payment.Paid: "capture",
        Payment.Refunded: "refund",
        Payment.DisputeLost: "chargeback",
    }[type(event)]
    authorization = at_gateway.get(pid, ("", ""))[1]
    entries.append(BookEntry(kind, str(pid), authorization, event.amount, event.timestamp))


def record_settlement(store: EventStore, report: Report) -> Settlement:
    """Keep the reconciliation's totals as a fact (the analytics' gross, fees and net)."""
    start, end = report.start.isoformat(), report.end.isoformat()
    found = store.load(Settlement, Settlement.create_id(report.provider, start, end))
    settlement = found or Settlement(report.provider, start, end)
    totals = report.totals
    unresolved = len(report.missing_at_provider + report.missing_in_books + report.discrepancies)
    settlement.record(
        totals["settled_captured"],
        totals["settled_refunded"],
        totals["settled_chargebacks"],
        report.fees,
        totals["net"],
        len(report.matched),
        unresolved,
        sorted({str(e["payment_id"]) for e in report.missing_at_provider}),
        sorted({str(m["source_id"] or m["line_id"]) for m in report.missing_in_books}),
        [f"{d['problem']}:{d['line_id']}" for d in report.discrepancies],
    )
    store.save(settlement)
    return settlement
