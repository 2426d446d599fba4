"""Charts drawn on the server as SVG, with their numbers in a table beside them.

Wagtail has no chart component and the admin loads nothing from a CDN; a line or a few bars
are a handful of coordinates, so they are computed here and drawn by a template
(``wagtail_segments/admin/chart.html``) that every screen includes. The SVG is an image with
a title for screen readers; the table carries the numbers for everyone.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.utils.formats import date_format

WIDTH, HEIGHT = 640, 220
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 56, 16, 16, 32


@dataclass
class Chart:
    """A chart ready to draw: its title, the (label, value) pairs, and their coordinates."""

    title: str
    rows: list[tuple[str, int]]
    kind: str = "line"  # "line" or "bar"
    value_label: str = ""
    label_heading: str = ""
    width: int = WIDTH
    height: int = HEIGHT
    points: str = ""  # the polyline's "x,y x,y …"
    bars: list[dict[str, Any]] = field(default_factory=list)
    ticks: list[dict[str, Any]] = field(default_factory=list)  # y axis: value and y
    x_labels: list[dict[str, Any]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.rows


def nice_top(value: int) -> int:
    """The axis top at or above ``value``: 4, 8, 20, 40, 80, 200…, so that the gridlines at
    each quarter fall on whole, round numbers."""
    power = 1
    while True:
        for factor in (4, 8, 20):
            if factor * power >= value:
                return factor * power
        power *= 10


def by_day(series: list[tuple[datetime.date, int]]) -> list[tuple[str, int]]:
    """``(day, value)`` pairs with each day written the reader's way (their locale's short
    date), for a chart's labels and its table."""
    return [(date_format(day, "SHORT_DATE_FORMAT"), value) for day, value in series]


def chart(title: str, rows: list[tuple[Any, int]], *, kind: str = "line", value_label: str = "",
          label_heading: str = "") -> Chart:
    """A ``kind`` chart of ``rows`` ((label, value) in order; labels as text, e.g. dates)."""
    rows = [(str(label), int(value)) for label, value in rows]
    result = Chart(title=title, rows=rows, kind=kind, value_label=value_label, label_heading=label_heading)
    if not rows:
        return result
    top = nice_top(max(value for _label, value in rows))
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    base = MARGIN_TOP + plot_h

    def y(value: int) -> float:
        return round(base - plot_h * value / top, 1)

    result.ticks = [{"value": top * n // 4, "y": y(top * n // 4)} for n in range(5)]
    count = len(rows)
    if kind == "bar":
        slot = plot_w / count
        width = max(2.0, slot * 0.7)
        for index, (label, value) in enumerate(rows):
            x = MARGIN_LEFT + slot * index + (slot - width) / 2
            result.bars.append({"x": round(x, 1), "y": y(value), "width": round(width, 1),
                                "height": round(base - y(value), 1), "label": label, "value": value})
        xs = [MARGIN_LEFT + slot * (index + 0.5) for index in range(count)]
    else:
        step = plot_w / (count - 1) if count > 1 else 0
        xs = [MARGIN_LEFT + step * index for index in range(count)]
        result.points = " ".join(f"{round(x, 1)},{y(value)}" for x, (_label, value) in zip(xs, rows))
    shown = {0, count - 1, count // 2} if count > 2 else set(range(count))
    anchors = {0: "start", count - 1: "end"} if count > 1 else {0: "middle"}
    result.x_labels = [
        {"x": round(xs[index], 1), "label": rows[index][0], "anchor": anchors.get(index, "middle")}
        for index in sorted(shown)
    ]
    return result
