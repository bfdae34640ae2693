"""Analytics as charts: sales by day and by category, CO2 by category, top products, and
the customers who consent to analytics."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response
from markupsafe import Markup

from api.console.charts import bar_chart
from api.console.i18n import MESSAGES
from api.console.web import ConsoleContainer, language, render, role
from api.http.auth import Principal

router = APIRouter()
CHARTS = (
    # (title, rows kind, value field, how many, oldest first)
    ("sales_by_day", "sales:day", "revenue", 30, True),
    ("chargebacks_by_day", "sales:day", "chargebacks", 30, True),  # disputes lost (issue 29)
    ("sales_by_category", "sales:category", "revenue", 12, False),
    ("co2_by_category", "co2:category", "kg", 12, False),
    ("top_products", "product", "units", 10, False),
    # Profiles people: only customers holding the `analytics` consent have a row.
    ("top_customers", "customer", "revenue", 10, False),
)


@router.get("/analytics")
def analytics(
    request: Request, container: ConsoleContainer, _: Annotated[Principal, role("admin")]
) -> Response:
    analytics_rows = container.readers.analytics.rows
    words = MESSAGES[language(request)]
    charts = []
    for title, kind, field, limit, chronological in CHARTS:
        found = analytics_rows(kind, limit)
        bars = [(str(r["key"]), Decimal(r.get(field) or "0")) for r in found]
        if not any(value for _, value in bars):
            bars = []  # nothing to draw (no chargeback in the days shown)
        # Days oldest first; the others by the value drawn, largest first.
        bars = bars[::-1] if chronological else sorted(bars, key=lambda bar: -bar[1])
        name = "chargebacks:day" if field == "chargebacks" else kind  # the figure's own id
        charts.append((title, name, Markup(bar_chart(bars, words[title])) if bars else None))  # noqa: S704
    return render(request, "analytics.html", charts=charts)
