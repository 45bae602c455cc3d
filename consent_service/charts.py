"""Charts drawn on the server as SVG (no script, no CDN): a page or a PDF embeds the markup.

Every text is escaped; colours and sizes are SVG presentation attributes, not CSS, so a page's
Content-Security-Policy (no inline style) is respected.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

#: Colours for the series, distinguishable and with enough contrast on white.
PALETTE = ("#0b5cad", "#a4470b", "#2e7d32", "#6a1b9a", "#00695c", "#5d4037")


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    width: int = 640,
    height: int = 240,
) -> str:
    """An SVG line chart: ``labels`` along the x axis, one line per ``(name, values)`` of
    ``series``, with a title, the largest value on the y axis and a legend. The figure carries
    ``role="img"`` and its title for assistive technology."""
    left, right, top, bottom = 40, 12, 28, 36 + 16 * len(series)
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([1, *(v for _, values in series for v in values)])
    step = plot_w / max(1, len(labels) - 1)

    def x(i: int) -> float:
        return round(left + i * step, 1)

    def y(v: int) -> float:
        return round(top + plot_h - v * plot_h / peak, 1)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="16" font-size="13" fill="#1d2430">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#5b6473"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#5b6473"/>',
        f'<text x="{left - 6}" y="{top + 4}" font-size="11" text-anchor="end" fill="#1d2430">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" font-size="11" text-anchor="end" fill="#1d2430">0</text>',
    ]
    if labels:
        for i in (0, len(labels) - 1):
            parts.append(
                f'<text x="{x(i)}" y="{top + plot_h + 14}" font-size="11" text-anchor="middle" '
                f'fill="#1d2430">{escape(labels[i])}</text>'
            )
    for n, (name, values) in enumerate(series):
        colour = PALETTE[n % len(PALETTE)]
        points = " ".join(f"{x(i)},{y(v)}" for i, v in enumerate(values))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        legend_y = top + plot_h + 30 + 16 * n
        parts.append(f'<rect x="{left}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>')
        parts.append(
            f'<text x="{left + 16}" y="{legend_y}" font-size="12" fill="#1d2430">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
