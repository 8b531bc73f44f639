"""Geometry of the statistics chart, drawn by the template as inline SVG.

Computing rectangles here and leaving markup to the (auto-escaping) template keeps the page free
of JavaScript and of any chart library fetched from elsewhere, which the CSP would refuse.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from dit_assistant.store.statistics import Week

WIDTH = 720
HEIGHT = 280
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 16, 40
SERIES = (
    ("enquiries", "Enquiries", "bar-enquiries"),
    ("safety_routes", "Safety routes", "bar-safety"),
)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css_class: str
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    x_labels: tuple[Label, ...]
    y_ticks: tuple[Label, ...]
    grid: tuple[float, ...]
    left: int
    right: int
    series: tuple[tuple[str, str], ...]


def _nice_steps() -> Iterator[int]:
    magnitude = 1
    while True:
        for multiple in (1, 2, 5):
            yield multiple * magnitude
        magnitude *= 10


def _ticks(maximum: int) -> list[int]:
    """At most six whole-number ticks from 0 to a round top at or above ``maximum``."""
    step = next(step for step in _nice_steps() if maximum / step <= 5)
    top = -(-maximum // step) * step
    return list(range(0, top + 1, step))


def weekly_chart(weeks: Sequence[Week]) -> Chart:
    """Grouped bars: enquiries and safety routes for each week."""
    maximum = max([1, *(max(w.enquiries, w.safety_routes) for w in weeks)])
    ticks = _ticks(maximum)
    top = ticks[-1]
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    slot = plot_width / max(1, len(weeks))
    bar_width = slot * 0.8 / len(SERIES)
    bars, labels = [], []
    for index, week in enumerate(weeks):
        start = LEFT + index * slot + slot * 0.1
        for position, (attribute, name, css_class) in enumerate(SERIES):
            value = getattr(week, attribute)
            height = plot_height * value / top
            bars.append(
                Bar(
                    x=round(start + position * bar_width, 2),
                    y=round(TOP + plot_height - height, 2),
                    width=round(bar_width - 1, 2),
                    height=round(height, 2),
                    css_class=css_class,
                    title=f"{name}, week of {week.label}: {value}",
                )
            )
        labels.append(
            Label(round(LEFT + (index + 0.5) * slot, 2), HEIGHT - BOTTOM + 16, week.label)
        )
    y_ticks = tuple(
        Label(LEFT - 6, round(TOP + plot_height - plot_height * t / top + 4, 2), str(t))
        for t in ticks
    )
    grid = tuple(round(TOP + plot_height - plot_height * t / top, 2) for t in ticks)
    return Chart(
        width=WIDTH,
        height=HEIGHT,
        bars=tuple(bars),
        x_labels=tuple(labels),
        y_ticks=y_ticks,
        grid=grid,
        left=LEFT,
        right=WIDTH - RIGHT,
        series=tuple((name, css_class) for _, name, css_class in SERIES),
    )
