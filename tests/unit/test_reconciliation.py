"""Reconciliation rules (application/reconciliation.py) and the providers' report formats
(infrastructure/gateways/settlement_reports.py), without I/O."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from application.reconciliation import BookEntry, SettlementLine, reconcile
from domain.money import Money
from infrastructure.gateways.settlement_reports import UnreadableReportError, parse_report

AT = datetime(2026, 11, 10, 12, tzinfo=UTC)
NOV = (date(2026, 11, 1), date(2026, 11, 30))


def book(kind: str, pid: str, auth: str, amount: str) -> BookEntry:
    return BookEntry(kind, pid, auth, Money.brl(amount), AT)


def line(
    lid: str,
    kind: str,
    amount: str,
    *,
    fee: str = "0",
    src: str = "",
    ref: str = "",
    currency: str = "BRL",
) -> SettlementLine:
    return SettlementLine(lid, kind, Money.brl(amount), Money.brl(fee), currency, src, ref)


def test_everything_matching_adds_up_to_the_centavo():
    books = [
        book("capture", "p1", "pi_1", "100.00"),
        book("capture", "p2", "pi_2", "50.10"),
        book("refund", "p2", "pi_2", "20.05"),
    ]
    lines = [
        line("t1", "capture", "100.00", fee="4.38", src="pi_1"),
        line("t2", "capture", "50.10", fee="2.39", ref="p2"),
        line("t3", "refund", "20.05", src="pi_2"),
        line("t4", "payout", "120.00"),
    ]
    report = reconcile("stripe", *NOV, lines, books)
    assert len(report.matched) == 3
    assert report.missing_at_provider == report.missing_in_books == report.discrepancies == []
    assert [p["line_id"] for p in report.payouts] == ["t4"]
    assert report.fees == Money.brl("6.77")
    assert report.totals["net"] == Money.brl("123.28")  # 150.10 - 20.05 - 6.77


def test_what_is_missing_on_either_side_and_every_odd_line_is_listed():
    books = [
        book("capture", "p1", "pi_1", "10.00"),
        book("capture", "p2", "pi_2", "20.00"),
        book("capture", "p3", "pi_3", "30.00"),
    ]
    lines = [
        line("t1", "capture", "10.00", src="pi_1"),
        line("t1", "capture", "10.00", src="pi_1"),  # the same line twice
        line("t2", "capture", "10.00", src="pi_1"),  # another line for one capture
        line("t3", "capture", "25.00", src="pi_3"),  # another amount
        line("t4", "capture", "5.00", src="pi_x"),  # not ours
        line("t5", "capture", "20.00", src="pi_2", currency="USD"),
        line("t6", "adjustment", "1.00"),
    ]
    report = reconcile("stripe", *NOV, lines, books)
    problems = {d["line_id"]: d["problem"] for d in report.discrepancies}
    assert problems == {
        "t1": "duplicate_line",
        "t2": "duplicate_transaction",
        "t3": "amount_mismatch",
        "t5": "other_currency",
        "t6": "unknown_type",
    }
    assert [m["source_id"] for m in report.missing_in_books] == ["pi_x"]
    assert [m["payment_id"] for m in report.missing_at_provider] == ["p2"]


def test_two_partial_refunds_of_one_payment_each_take_their_own_line():
    books = [book("refund", "p1", "pi_1", "10.00"), book("refund", "p1", "pi_1", "15.00")]
    lines = [line("r2", "refund", "15.00", src="pi_1"), line("r1", "refund", "10.00", src="pi_1")]
    report = reconcile("stripe", *NOV, lines, books)
    assert len(report.matched) == 2
    assert report.missing_at_provider == []


def test_a_stripe_itemized_csv_is_read_in_reais_and_api_rows_in_centavos():
    csv_text = (
        "balance_transaction_id,created_utc,currency,gross,fee,net,reporting_category,"
        "source_id,payment_intent_id\n"
        "txn_1,2026-11-10 12:00:00,brl,259.80,10.76,249.04,charge,ch_1,pi_1\n"
        "txn_2,2026-11-11 12:00:00,brl,-259.80,0.00,-259.80,dispute,dp_1,pi_1\n"
    )
    first, second = parse_report("stripe", csv_text)
    assert (first.kind, first.amount, first.fee, first.source_id) == (
        "capture",
        Money.brl("259.80"),
        Money.brl("10.76"),
        "pi_1",
    )
    assert (second.kind, second.amount) == ("chargeback", Money.brl("259.80"))
    api = json.dumps(
        {
            "data": [
                {
                    "id": "txn_3",
                    "amount": 1050,
                    "fee": 81,
                    "currency": "brl",
                    "reporting_category": "refund",
                    "source": {"payment_intent": "pi_2"},
                }
            ]
        }
    )
    (refund,) = parse_report("stripe", api)
    assert (refund.kind, refund.amount, refund.source_id) == ("refund", Money.brl("10.50"), "pi_2")


def test_a_mercadopago_settlement_report_and_a_pagbank_extract_are_read():
    mp = (
        "EXTERNAL_REFERENCE;SOURCE_ID;TRANSACTION_TYPE;TRANSACTION_AMOUNT;TRANSACTION_CURRENCY;"
        "TRANSACTION_DATE;FEE_AMOUNT;SETTLEMENT_NET_AMOUNT\n"
        "p1;123;SETTLEMENT;89.90;BRL;2026-11-10T10:00:00.000-03:00;-4.44;85.46\n"
        "p1;123;SETTLEMENT;89.90;BRL;2026-11-10T10:00:00.000-03:00;-4.44;85.46\n"
    )
    first, again = parse_report("mercadopago", mp)
    assert (first.kind, first.reference, first.fee) == ("capture", "p1", Money.brl("4.44"))
    assert first.line_id == again.line_id  # a repeated row is a duplicate line
    pagbank = json.dumps(
        {
            "detalhes": [
                {
                    "codigo_transacao": "T1",
                    "codigo_venda": "p9",
                    "tipo_evento": "5",
                    "valor_total_transacao": "45.50",
                    "taxa_intermediacao": "0.00",
                }
            ]
        }
    )
    (chargeback,) = parse_report("pagseguro", pagbank)
    assert (chargeback.kind, chargeback.reference, chargeback.amount) == (
        "chargeback",
        "p9",
        Money.brl("45.50"),
    )


def test_an_unreadable_row_is_a_line_to_list_and_a_file_of_nothing_is_refused():
    rows = json.dumps(
        [
            {"id": "txn_1", "amount": "lots", "currency": "brl", "type": "charge"},
            {"id": "txn_2", "amount": 100, "currency": "brl", "type": "charge"},
        ]
    )
    bad, good = parse_report("stripe", rows)
    assert bad.kind == "unreadable"
    assert good.kind == "capture"
    assert reconcile("stripe", *NOV, [bad], []).discrepancies[0]["problem"] == "unreadable"
    for garbage in ('{"nope": 1}', '[{"x": 1}]', "[1, 2]"):
        with pytest.raises(UnreadableReportError):
            parse_report("stripe", garbage)


def test_a_fee_on_its_own_line_counts_in_the_fees_and_the_net():
    """Stripe lists some fees as balance transactions of their own (category `fee`): the
    money is their amount, and their `fee` field is 0."""
    books = [book("capture", "p1", "pi_1", "100.00")]
    lines = [line("t1", "capture", "100.00", fee="4.38", src="pi_1"), line("f1", "fee", "3.00")]
    report = reconcile("stripe", *NOV, lines, books)
    assert report.fees == Money.brl("7.38")
    assert report.totals["net"] == Money.brl("92.62")
