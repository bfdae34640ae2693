"""Bar charts as inline SVG, drawn on the server: no script, no library, works offline.
Every label and value is escaped; values are Decimals (money stays exact)."""

from __future__ import annotations

from decimal import Decimal
from html import escape

WIDTH = 640
BAR = 22
GAP = 6
LABEL_W = 170
VALUE_W = 90


def _fmt(value: Decimal) -> str:
    return f"{value:,.2f}" if value != value.to_integral_value() else f"{value:,.0f}"


def bar_chart(bars: list[tuple[str, Decimal]], title: str) -> str:
    """Horizontal bars, one per (label, value), scaled to the largest value."""
    top = max((v for _, v in bars), default=Decimal(0))
    plot = WIDTH - LABEL_W - VALUE_W
    height = len(bars) * (BAR + GAP) + GAP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}">',
        f"<title>{escape(title)}</title>",
    ]
    for i, (label, value) in enumerate(bars):
        y = GAP + i * (BAR + GAP)
        length = int(plot * value / top) if top > 0 and value > 0 else 0
        text_y = y + BAR * 0.7
        short = label if len(label) <= 24 else label[:23] + "…"
        parts += [
            f'<text x="{LABEL_W - 8}" y="{text_y:.1f}" text-anchor="end" class="label">'
            f"{escape(short)}</text>",
            f'<rect x="{LABEL_W}" y="{y}" width="{max(length, 1)}" height="{BAR}" class="bar">'
            f"<title>{escape(label)}: {escape(_fmt(value))}</title></rect>",
            f'<text x="{LABEL_W + length + 6}" y="{text_y:.1f}" class="value">'
            f"{escape(_fmt(value))}</text>",
        ]
    parts.append("</svg>")
    return "".join(parts)
