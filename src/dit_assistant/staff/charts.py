"""Geometry of the statistics charts, drawn by the template as inline SVG.

Computing rectangles here and leaving markup to the (auto-escaping) template keeps the page free
of JavaScript and of any chart library fetched from elsewhere, which the CSP would refuse. Every
chart's figures are also in a table on the same page, for screen readers and for copying.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from dit_assistant.store.statistics import Week

WIDTH = 720
HEIGHT = 280
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 16, 40
PALETTE = tuple(f"series-{n}" for n in range(8))
"""CSS classes of the colours for charts with many series (``static/style.css``)."""

TOPICS_SHOWN = 15
TOPIC_ROW = 22
TOPIC_LABEL = 290
LABEL_CHARS = 40


@dataclass(frozen=True)
class Series:
    name: str
    css_class: str
    values: tuple[int, ...]


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


def weekly_series(weeks: Sequence[Week], attribute: str, name: str, css_class: str) -> Series:
    return Series(name, css_class, tuple(int(getattr(w, attribute)) for w in weeks))


def weekly_chart(
    weeks: Sequence[Week], series: Sequence[Series] | None = None, stacked: bool = False
) -> Chart:
    """Bars per week: side by side for each series, or ``stacked`` one on another.

    Without ``series``: enquiries and safety routes.
    """
    if series is None:
        series = (
            weekly_series(weeks, "enquiries", "Enquiries", "bar-enquiries"),
            weekly_series(weeks, "safety_routes", "Safety routes", "bar-safety"),
        )
    per_week = [[s.values[i] for s in series] for i in range(len(weeks))]
    tallest = [sum(values) if stacked else max(values, default=0) for values in per_week]
    ticks = _ticks(max([1, *tallest]))
    top = ticks[-1]
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    slot = plot_width / max(1, len(weeks))
    bar_width = slot * 0.8 / (1 if stacked else max(1, len(series)))
    bars, labels = [], []
    for index, week in enumerate(weeks):
        start = LEFT + index * slot + slot * 0.1
        base = 0
        for position, one in enumerate(series):
            value = one.values[index]
            height = plot_height * value / top
            x = start if stacked else start + position * bar_width
            y = TOP + plot_height - height - (plot_height * base / top if stacked else 0)
            bars.append(
                Bar(
                    x=round(x, 2),
                    y=round(y, 2),
                    width=round(bar_width - 1, 2),
                    height=round(height, 2),
                    css_class=one.css_class,
                    title=f"{one.name}, week of {week.label}: {value}",
                )
            )
            base += value
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
        series=tuple((one.name, one.css_class) for one in series),
    )


def conversations_chart(weeks: Sequence[Week]) -> Chart:
    return weekly_chart(
        weeks, [weekly_series(weeks, "conversations", "Conversations", "bar-conversations")]
    )


def routes_chart(weeks: Sequence[Week], routes: Sequence[str]) -> Chart:
    """Safety routes per week, one colour per kind of route, stacked."""
    series = [
        Series(
            route, PALETTE[i % len(PALETTE)], tuple(w.safety_by_route.get(route, 0) for w in weeks)
        )
        for i, route in enumerate(routes)
    ]
    return weekly_chart(weeks, series, stacked=True)


@dataclass(frozen=True)
class RankedBar:
    y: float
    width: float
    name: str
    value: int

    @property
    def label(self) -> str:
        """The name, shortened to fit beside the bar (the whole of it is in the bar's title)."""
        name = self.name
        return name if len(name) <= LABEL_CHARS else name[: LABEL_CHARS - 1] + "…"


@dataclass(frozen=True)
class RankedChart:
    """Horizontal bars, largest first: ``label_width`` on the left holds the names."""

    width: int
    height: int
    label_width: int
    row_height: int
    bars: tuple[RankedBar, ...]


def ranked_chart(items: Sequence[tuple[str, int]], shown: int = TOPICS_SHOWN) -> RankedChart:
    """The ``shown`` largest of ``items`` (name, count), already sorted largest first."""
    chosen = list(items[:shown])
    largest = max([1, *(value for _, value in chosen)])
    room = WIDTH - TOPIC_LABEL - 50  # the count is written after the bar
    bars = tuple(
        RankedBar(
            y=index * TOPIC_ROW + 4,
            width=round(room * value / largest, 2),
            name=name,
            value=value,
        )
        for index, (name, value) in enumerate(chosen)
    )
    return RankedChart(
        width=WIDTH,
        height=max(1, len(chosen)) * TOPIC_ROW + 8,
        label_width=TOPIC_LABEL,
        row_height=TOPIC_ROW,
        bars=bars,
    )
