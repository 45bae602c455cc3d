"""Server-side SVG charts: every series drawn, text escaped, no script or style."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from consent_service.charts import line_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_a_line_per_series_with_a_legend_and_the_peak():
    svg = line_chart(
        "Consents <per week>",
        ["11-02", "11-09", "11-16"],
        [("grants", [3, 0, 5]), ("withdrawals", [0, 1, 0])],
    )
    root = ET.fromstring(svg)  # noqa: S314  (our own output)
    assert root.get("role") == "img" and root.get("aria-label") == "Consents <per week>"
    lines = root.findall(f"{SVG}polyline")
    assert len(lines) == 2
    assert len(lines[0].get("points").split()) == 3
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "grants" in texts and "withdrawals" in texts and "5" in texts and "11-02" in texts
    assert "<script" not in svg and "style=" not in svg and "&lt;per week&gt;" in svg


def test_an_empty_chart_is_still_a_valid_svg():
    root = ET.fromstring(line_chart("Nothing yet", [], []))  # noqa: S314  (our own output)
    assert root.findall(f"{SVG}polyline") == []
