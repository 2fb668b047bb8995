"""Pages for analysts: the figures (tables and charts), a map and a timeline.

Each page is one self-contained HTML string rendered from the analyst tables
(:mod:`ipgraph.tables`): :func:`figures_page`, :func:`map_page`,
:func:`timeline_page`. :func:`pages` renders all three from a store, and
:func:`write_pages` writes them as files. The server can mount the same
functions: ``href`` turns an entity IRI into the link a page gives it.

The charts are SVG drawn here, not by a plotting library: they paint without
any script (so they show even where scripts are off), weigh nothing beyond
their own marks (Plotly's bundle is about 3.5 MB per page, Vega-Lite with
Vega about 800 kB, and Vega's expression parser needs ``'unsafe-eval'``),
and keep the strict Content-Security-Policy of the graph views: one script
and one style sheet, each allowed by its hash. The small script
(``static/analyst.js``) adds the tooltips, the indicator picker, the map's
colouring choice and the timeline's filters; every text it shows comes from
``data-t`` attributes and JSON read with ``textContent`` / ``JSON.parse``,
never as HTML. Every text the page holds is escaped here.

The map is a tile-grid cartogram: one equal square per provincial-level
division, placed roughly where it lies. It needs no boundary data (and so no
boundary data licence, and no disputed border to draw), gives small divisions
such as Beijing, Shanghai, Hong Kong and Macao the same room as Xinjiang,
and stays small; see docs/analysts.md.

Example:
    >>> from ipgraph.store import open_store
    >>> store = open_store("build/ipgraph.trig", "oxigraph")   # doctest: +SKIP
    >>> html_text = pages(store)["figures"]                      # doctest: +SKIP
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path

from ipgraph import tables
from ipgraph.build import check_writable, write_atomic
from ipgraph.errors import OutputError, ViewError
from ipgraph.layout import PACKAGE
from ipgraph.store import Store
from ipgraph.view import _json_for_html

__all__ = ["NAV", "PAGES", "POLICY", "TILES", "figures_page", "map_page", "pages", "timeline_page", "write_pages"]

#: The pages, by name: the file each is written to.
PAGES = {"figures": "figures.html", "map": "map.html", "timeline": "timeline.html"}
#: The navigation of a written page: each link's text and where it goes (the pages, the views' index).
NAV = {**PAGES, "views": "index.html"}

#: The tile grid: ISO 3166-2 code of each provincial-level division to its (column, row).
TILES: dict[str, tuple[int, int]] = {
    "CN-HL": (8, 0),
    "CN-NM": (5, 1), "CN-BJ": (6, 1), "CN-JL": (8, 1),
    "CN-XJ": (0, 2), "CN-GS": (3, 2), "CN-NX": (4, 2), "CN-SX": (5, 2), "CN-HE": (6, 2), "CN-TJ": (7, 2),
    "CN-LN": (8, 2),
    "CN-XZ": (1, 3), "CN-QH": (2, 3), "CN-SC": (3, 3), "CN-SN": (4, 3), "CN-HA": (5, 3), "CN-SD": (6, 3),
    "CN-YN": (2, 4), "CN-GZ": (3, 4), "CN-CQ": (4, 4), "CN-HB": (5, 4), "CN-AH": (6, 4), "CN-JS": (7, 4),
    "CN-SH": (8, 4),
    "CN-GX": (3, 5), "CN-HN": (4, 5), "CN-JX": (5, 5), "CN-ZJ": (6, 5),
    "CN-GD": (5, 6), "CN-FJ": (6, 6), "CN-TW": (7, 6),
    "CN-HI": (3, 7), "CN-MO": (4, 7), "CN-HK": (5, 7),
}  # fmt: skip

#: Series colours (Tableau 10): the ten areas with the most figures get one each, the rest grey.
_PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f"]
_OTHER = "#c8c8c8"
#: Map classes, light to dark (ColorBrewer Blues), and the colour of a division with no value.
_BLUES = ["#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c"]
_NONE = "#f2f2f2"

_CSS = (PACKAGE / "static" / "analyst.css").read_text(encoding="utf-8")
_JS = (PACKAGE / "static" / "analyst.js").read_text(encoding="utf-8")

Href = Callable[[str], str]
Nav = Mapping[str, str]


def _iri(iri: str) -> str:
    """The default link of an entity: its IRI (w3id.org resolves it to its page)."""
    return iri


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


#: The pages' Content-Security-Policy: their one script and one style sheet, by hash; nothing else.
POLICY = (
    f"default-src 'none'; script-src '{_sha256(_JS)}'; style-src '{_sha256(_CSS)}'; "
    "img-src data:; connect-src 'none'; base-uri 'none'; form-action 'none'"
)


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _shell(title: str, page: str, body: str, data: object | None = None, nav: Nav = NAV) -> str:
    """The page around ``body``: the CSP (one script, one style sheet, by hash), the navigation ``nav``."""
    links = " ".join(
        f'<a href="{_e(url)}"{" aria-current=page" if name == page else ""}>{_e(name)}</a>' for name, url in nav.items()
    )
    payload = (
        "" if data is None else f'<script type="application/json" id="ipgraph-data">{_json_for_html(data)}</script>\n'
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(POLICY)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="generator" content="ipgraph">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f'<body data-page="{page}">\n<header><h1>{_e(title)}</h1>'
        f"<nav>{links}</nav></header>\n"
        f"<main>\n{body}</main>\n"
        '<div id="tooltip" role="tooltip"></div>\n'
        f"{payload}<script>{_JS}</script>\n</body>\n</html>\n"
    )


def _number(value: object) -> str:
    """A number as the graph stores it, with thousands separators (``195000`` → ``195,000``)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, Decimal | float) and value == int(value):
        value = int(value)
    return f"{value:,}"


def _stated(row: dict) -> str:
    """A figure as its source states it: qualifier and value as written (or the stored number)."""
    value = row["stated_value"] if row.get("stated_value") is not None else _number(row["value"])
    return f"{row['qualifier']} {value}" if row.get("qualifier") else str(value)


def _period(row: dict) -> str:
    if row.get("period_label"):
        return str(row["period_label"])
    if row.get("period_start"):
        return f"{row['period_start']} – {row['period_end']}"
    return f"at {row['period_end']}"


def _source_text(row: dict) -> str:
    """What a tooltip says of a fact's evidence: the whole quote, then its source."""
    parts = []
    if row.get("quote"):
        parts.append(f"“{row['quote']}”")
    if row.get("headline"):
        parts.append(f"— {row['headline']}" + (f", {row['date_published']}" if row.get("date_published") else ""))
    return "\n".join(parts)


def _figure_tip(row: dict) -> str:
    lines = [
        f"{row.get('area_label') or row['area']}, {_period(row)}",
        f"{row.get('indicator_label') or row['indicator']}: {_stated(row)} {row.get('unit') or ''}".rstrip(),
        f"value: {_number(row['value'])}",
    ]
    if row.get("yoy_change_percent") is not None:
        lines.append(f"year on year: {row['yoy_change_percent']:+}%")
    if row.get("scope_label") not in (None, "all"):
        lines.append(f"scope: {row['scope_label']}")
    lines.append(f"{row['status']} ({row['source_count']} source{'s' if row['source_count'] != 1 else ''})")
    source = _source_text(row)
    return "\n".join(lines) + ("\n" + source if source else "")


def _swatch(colour: str) -> str:
    return (
        '<svg class="swatch" viewBox="0 0 12 12" aria-hidden="true">'
        f'<rect width="12" height="12" rx="2" fill="{colour}"/></svg>'
    )


class _Tips:
    """Tooltip texts, each kept once in the page's JSON (``tips``); a mark names its text by
    number (``data-f``), so that a figure drawn twice and listed once carries its quote once."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self._numbers: dict[str, int] = {}

    def add(self, text: str) -> int:
        number = self._numbers.get(text)
        if number is None:
            number = self._numbers[text] = len(self.texts)
            self.texts.append(text)
        return number

    def figure(self, row: dict) -> int:
        return self.add(_figure_tip(row))


def _linkable(url: object) -> bool:
    """Whether ``url`` may be a link: a web URL, or a path or fragment of the same site (as the
    server's ``href`` gives); never another scheme (``javascript:``, ``data:`` ...)."""
    return isinstance(url, str) and url.lower().startswith(("http://", "https://", "/", "#", "./", "../"))


def _link(url: object, text: str, tip: int | None = None, cls: str = "") -> str:
    """A link to a source (only http(s) URLs are links) with a tooltip (a number of :class:`_Tips`)."""
    attributes = f' class="{cls}"' if cls else ""
    if tip is not None:
        attributes += f' data-f="{tip}"'
    if _linkable(url):
        return f'<a href="{_e(url)}" rel="noopener noreferrer"{attributes}>{_e(text)}</a>'
    return f"<span{attributes}{' tabindex=0' if tip is not None else ''}>{_e(text)}</span>"


def _days(value: date) -> int:
    return value.toordinal()


def _ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top``."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    step = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= step * factor:
            step *= factor
            break
    return [step * i for i in range(math.ceil(top / step) + 1)]


def _short(value: float) -> str:
    """An axis label: 1,200,000 → 1.2M."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def _months(row: dict) -> int:
    """The length of a flow's period in whole months (0 for a stock)."""
    start, end = row.get("period_start"), row["period_end"]
    if not isinstance(start, date):
        return 0
    return (end.year - start.year) * 12 + end.month - start.month + 1


def _chart_rows(rows: list[dict]) -> tuple[list[dict], str]:
    """The figures a chart of one indicator draws: scope "all" (or the most common scope), and for
    flows the most common period length, so that the marks compare like with like."""
    scopes = Counter(row.get("scope_label") for row in rows)
    scope = "all" if "all" in scopes else scopes.most_common(1)[0][0]
    kept = [row for row in rows if row.get("scope_label") == scope]
    lengths = Counter(_months(row) for row in kept)
    length = max(lengths, key=lambda m: (lengths[m], m))
    kept = [row for row in kept if _months(row) == length]
    what = "" if scope == "all" else f" {scope}"
    if length:
        what += f", flows over {length} month{'s' if length != 1 else ''}"
    return kept, what


def _series_svg(rows: list[dict], tips: _Tips) -> tuple[str, list[tuple[str, str]]]:
    """A line per area over time (x: period end); the ten areas with the most figures coloured."""
    width, height, left, right, top, bottom = 760, 300, 64, 16, 12, 34
    by_area: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_area[row["area"]].append(row)
    ranked = sorted(by_area, key=lambda a: (-len(by_area[a]), str(by_area[a][0].get("area_label")), a))
    colours = {area: _PALETTE[i] if i < len(_PALETTE) else _OTHER for i, area in enumerate(ranked)}
    first = min(_days(row["period_end"]) for row in rows)
    last = max(_days(row["period_end"]) for row in rows)
    span = max(last - first, 1)
    ticks = _ticks(max(float(row["value"]) for row in rows))
    high = ticks[-1] or 1

    def x(day: int) -> float:
        return round(left + (day - first) / span * (width - left - right), 1) if last > first else width / 2

    def y(value: float) -> float:
        return round(top + (1 - value / high) * (height - top - bottom), 1)

    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" class="chart-svg" aria-label="time series">']
    for tick in ticks:
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y(tick)}" y2="{y(tick)}" class="grid"/>'
            f'<text x="{left - 6}" y="{y(tick) + 4}" class="axis" text-anchor="end">{_short(tick)}</text>'
        )
    # The x axis is labelled at the periods' ends the figures have, with their periods' names
    # ("2020" at 2020-12-31), those too close to the previous label left out.
    ends: dict[int, str] = {}
    for row in sorted(rows, key=lambda r: (r["period_end"], _period(r))):
        ends.setdefault(_days(row["period_end"]), _period(row))
    shown = -1e9
    for day, label in ends.items():
        if x(day) - shown >= 72:
            shown = x(day)
            parts.append(
                f'<line x1="{x(day)}" x2="{x(day)}" y1="{top}" y2="{height - bottom}" class="grid"/>'
                f'<text x="{x(day)}" y="{height - bottom + 16}" class="axis" text-anchor="middle">{_e(label)}</text>'
            )
    for area in reversed(ranked):  # coloured lines on top
        points = sorted(by_area[area], key=lambda r: (r["period_end"], float(r["value"])))
        colour = colours[area]
        path = " ".join(f"{x(_days(r['period_end']))},{y(float(r['value']))}" for r in points)
        parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" class="line"/>')
        for r in points:
            dot = (
                f'<circle cx="{x(_days(r["period_end"]))}" cy="{y(float(r["value"]))}" r="3.5" fill="{colour}"'
                f' class="dot{" conflict" if r["status"] == "conflicting" else ""}"'
                f' data-f="{tips.figure(r)}" data-value="{_e(r["value"])}"/>'
            )
            url = r.get("url")
            parts.append(f'<a href="{_e(url)}">{dot}</a>' if _linkable(url) else dot)
    parts.append("</svg>")
    legend = [(colours[a], str(by_area[a][0].get("area_label") or a)) for a in ranked[: len(_PALETTE)]]
    if len(ranked) > len(_PALETTE):
        legend.append((_OTHER, f"{len(ranked) - len(_PALETTE)} other areas"))
    return "".join(parts), legend


def _bars_svg(rows: list[dict], tips: _Tips) -> tuple[str, str]:
    """Bars per area for the period most areas have (the latest of those): one bar per
    distinct value, so that conflicting figures show side by side, never merged."""
    periods = Counter((row["period_end"], row.get("period_start")) for row in rows)
    chosen = max(
        periods, key=lambda p: (len({r["area"] for r in rows if (r["period_end"], r.get("period_start")) == p}), p[0])
    )
    picked = [row for row in rows if (row["period_end"], row.get("period_start")) == chosen]
    by_area: dict[str, list[dict]] = defaultdict(list)
    for row in picked:
        by_area[row["area"]].append(row)
    order = sorted(by_area, key=lambda a: (-max(float(r["value"]) for r in by_area[a]), a))
    ticks = _ticks(max(float(row["value"]) for row in picked))
    high = ticks[-1] or 1
    width, left, right, band = 760, 190, 60, 20
    height = 24 + band * len(order)
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" class="chart-svg" aria-label="bars">']
    for tick in ticks:
        tx = round(left + tick / high * (width - left - right), 1)
        parts.append(
            f'<line x1="{tx}" x2="{tx}" y1="0" y2="{height - 20}" class="grid"/>'
            f'<text x="{tx}" y="{height - 6}" class="axis" text-anchor="middle">{_short(tick)}</text>'
        )
    for index, area in enumerate(order):
        readings = sorted(by_area[area], key=lambda r: (float(r["value"]), r["observation"]))
        values = sorted({r["value"] for r in readings})
        y0 = 4 + index * band
        name = str(readings[0].get("area_label") or area)
        parts.append(f'<text x="{left - 6}" y="{y0 + 12}" class="label" text-anchor="end">{_e(name)}</text>')
        thickness = (band - 6) / len(values)
        for k, value in enumerate(values):
            reading = next(r for r in readings if r["value"] == value)
            tip = tips.add("\n\n".join(_figure_tip(r) for r in readings if r["value"] == value))
            bar_width = round(max(float(value) / high * (width - left - right), 1), 1)
            conflict = " conflict" if len(values) > 1 else ""
            rect = (
                f'<rect x="{left}" y="{round(y0 + k * thickness, 1)}" width="{bar_width}"'
                f' height="{round(thickness, 1)}"'
                f' class="bar{conflict}" data-f="{tip}" data-value="{_e(value)}"/>'
            )
            url = reading.get("url")
            parts.append(f'<a href="{_e(url)}">{rect}</a>' if _linkable(url) else rect)
        stated = [_stated(next(r for r in readings if r["value"] == v)) for v in values]
        parts.append(
            f'<text x="{left + 4 + round(float(values[-1]) / high * (width - left - right), 1)}" y="{y0 + 12}"'
            f' class="value">{_e(" / ".join(stated))}</text>'
        )
    parts.append("</svg>")
    return "".join(parts), _period(picked[0])


def _pivot(rows: list[dict], what: str, tips: _Tips) -> str:
    """The charted figures as a table of area × period: each cell the value as stated (every
    distinct one where sources disagree, flagged), linked to its source, its quote as tooltip."""
    periods = sorted({(r["period_end"], r.get("period_start")) for r in rows}, key=lambda p: (p[0], str(p[1])))
    names = {}
    for r in rows:
        names.setdefault((r["period_end"], r.get("period_start")), _period(r))
    cells: dict[tuple[str, tuple], list[dict]] = defaultdict(list)
    for r in rows:
        cells[(r["area"], (r["period_end"], r.get("period_start")))].append(r)
    areas = sorted({r["area"]: str(r.get("area_label") or r["area"]) for r in rows}.items(), key=lambda a: (a[1], a[0]))
    head = "".join(f"<th>{_e(names[p])}</th>" for p in periods)
    body = []
    for area, name in areas:
        tds = []
        for period in periods:
            found = sorted(cells.get((area, period), []), key=lambda r: (float(r["value"]), r["observation"]))
            if not found:
                tds.append("<td></td>")
                continue
            links = []
            for value in sorted({r["value"] for r in found}):
                reading = next(r for r in found if r["value"] == value)
                links.append(_link(reading.get("url"), _stated(reading), tips.figure(reading)))
            flag = ' class="num conflicting"' if len(links) > 1 else ' class="num"'
            tds.append(f"<td{flag}>{' / '.join(links)}</td>")
        body.append(f"<tr><th>{_e(name)}</th>{''.join(tds)}</tr>")
    return (
        f'<details class="pivot" open><summary>Area × period{_e(what)}</summary><div class="scroll">'
        f'<table class="pivot"><thead><tr><th>area</th>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'
        "</div></details>\n"
    )


def figures_page(figures: list[dict], *, title: str = "ipgraph: figures", href: Href = _iri, nav: Nav = NAV) -> str:
    """The figures page: per indicator, a time series per area, bars per area for one period, and
    the table of every figure (area, period, scope, stock or flow, value as stated, unit, year on
    year, sources, conflicts flagged), each value linked to its source with its quote as tooltip.

    ``figures`` are the rows of :func:`ipgraph.tables.rows` ``(store, "figures")``."""
    by_indicator: dict[str, list[dict]] = defaultdict(list)
    for row in figures:
        by_indicator[row["indicator"]].append(row)
    order = sorted(by_indicator, key=lambda i: (str(by_indicator[i][0].get("indicator_label") or i), i))
    options, sections, tips = [], [], _Tips()
    for number, indicator in enumerate(order):
        rows = sorted(
            by_indicator[indicator],
            key=lambda r: (
                str(r.get("area_label") or r["area"]),
                r["period_end"],
                str(r.get("scope_label")),
                r["observation"],
            ),
        )
        label = str(rows[0].get("indicator_label") or indicator)
        conflicts = len({r["figure"] for r in rows if r["status"] == "conflicting"})
        areas = len({r["area"] for r in rows})
        options.append(f'<option value="{number}">{_e(label)} ({len(rows)})</option>')
        charted, what = _chart_rows(rows)
        series, legend = _series_svg(charted, tips)
        bars, bar_period = _bars_svg(charted, tips)
        legend_html = "".join(f"<li>{_swatch(c)}{_e(name)}</li>" for c, name in legend)
        body_rows = []
        for r in rows:
            flag = ' class="conflicting"' if r["status"] == "conflicting" else ""
            yoy = "" if r.get("yoy_change_percent") is None else f"{r['yoy_change_percent']:+}%"
            body_rows.append(
                f"<tr{flag}><td>{_link(href(r['area']), str(r.get('area_label') or r['area']))}</td>"
                f"<td>{_e(_period(r))}</td><td>{_e(r.get('scope_label'))}</td><td>{_e(r['kind'])}</td>"
                f'<td class="num" data-value="{_e(r["value"])}">'
                f"{_link(r.get('url'), _stated(r), tips.figure(r), 'v')}</td>"
                f'<td>{_e(r.get("unit"))}</td><td class="num">{_e(yoy)}</td>'
                f'<td class="num">{_e(r["source_count"])}</td><td>{_e(r["status"])}</td>'
                f"<td>{_link(r.get('url'), str(r.get('headline') or r.get('source') or ''))}</td></tr>"
            )
        hidden = "" if number == 0 else " hidden"
        sections.append(
            f'<section class="indicator" id="indicator-{number}" data-iri="{_e(indicator)}"{hidden}>\n'
            f"<h2>{_e(label)}</h2>\n"
            f'<p class="summary">{len(rows)} figures of {areas} areas'
            f"{f', {conflicts} conflicting' if conflicts else ''}. "
            "Hover a mark or a value for its quote and source; click it to open the source.</p>\n"
            f'<div class="charts"><figure class="chart"><figcaption>Over time, by area{_e(what)}</figcaption>{series}'
            f'<ul class="legend">{legend_html}</ul></figure>\n'
            f'<figure class="chart"><figcaption>By area, {_e(bar_period)}{_e(what)}</figcaption>{bars}</figure></div>\n'
            f"{_pivot(charted, what, tips)}"
            '<table class="figures"><thead><tr><th>area</th><th>period</th><th>scope</th><th>stock/flow</th>'
            "<th>value</th><th>unit</th><th>year on year</th><th>sources</th><th>status</th><th>source</th></tr>"
            f"</thead><tbody>\n{chr(10).join(body_rows)}\n</tbody></table>\n</section>\n"
        )
    if not order:
        sections.append('<p class="summary">The graph holds no figures.</p>')
    body = (
        f'<p class="controls"><label>Indicator <select id="indicator">{"".join(options)}</select></label> '
        f'<span class="summary">{len(figures)} figures, {len(order)} indicators</span></p>\n' + "".join(sections)
    )
    return _shell(title, "figures", body, {"tips": tips.texts}, nav)


def _classes(values: list[float]) -> list[float]:
    """Upper bounds of up to five classes at the quantiles of ``values``."""
    ordered = sorted(set(values))
    if len(ordered) <= len(_BLUES):
        return ordered
    return sorted(
        {ordered[min(len(ordered) - 1, round(len(ordered) * (k + 1) / len(_BLUES)) - 1)] for k in range(len(_BLUES))}
    )


def _choice(label: str, unit: str, values: dict[str, tuple[float, str, bool]], none: str = "no figure") -> dict:
    """One colouring of the map: each division's colour, tooltip and conflict flag, and the legend."""
    bounds = _classes([v for v, _, _ in values.values()])
    colours = _BLUES[len(_BLUES) - len(bounds) :]
    tiles = {}
    for iso, (value, tip, conflict) in values.items():
        index = next(i for i, bound in enumerate(bounds) if value <= bound)
        tiles[iso] = [colours[index], tip, conflict, _short(value)]
    legend, low = [], None
    for colour, bound in zip(colours, bounds, strict=True):
        text = _number(bound) if low is None or low == bound else f"{_number(low)} – {_number(bound)}"
        legend.append([colour, text if low is not None else f"up to {_number(bound)}" if len(bounds) > 1 else text])
        low = bound
    legend.append([_NONE, none])
    return {"label": label, "unit": unit, "tiles": tiles, "legend": legend, "none": none}


def map_data(figures: list[dict], measures: list[dict], entities: list[dict]) -> tuple[list[dict], dict[str, dict]]:
    """The map's colourings: the number of measures, then one per indicator (each division's latest
    figure of scope "all"); and the divisions (ISO code to label, Chinese name, IRI)."""
    divisions = {}
    for entity in entities:
        code = entity.get("iso3166_code")
        if isinstance(code, str) and code in TILES:
            divisions[entity["entity"]] = {"iso": code, "label": entity["label"], "zh": entity.get("label_zh")}
    choices = []
    counted: dict[str, set[str]] = defaultdict(set)
    for measure in measures:
        for region in str(measure.get("region") or "").split("; "):
            if region in divisions:
                counted[region].add(str(measure.get("label") or measure["measure"]))
    values = {}
    for region, labels in counted.items():
        names = sorted(labels)
        tip = (
            f"{divisions[region]['label']}: {len(names)} measure{'s' if len(names) != 1 else ''}\n"
            + "\n".join(f"• {name}" for name in names[:8])
            + (f"\n… and {len(names) - 8} more" if len(names) > 8 else "")
        )
        values[divisions[region]["iso"]] = (float(len(names)), tip, False)
    choices.append({"key": "measures", **_choice("number of measures", "measures", values, "no measure")})
    latest: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in figures:
        if row["area"] in divisions and row.get("scope_label") == "all":
            latest[(row["indicator"], row["area"])].append(row)
    indicators: dict[str, dict[str, tuple[float, str, bool]]] = defaultdict(dict)
    labels: dict[str, tuple[str, str]] = {}
    for (indicator, area), found in latest.items():
        end = max(r["period_end"] for r in found)
        found = [r for r in found if r["period_end"] == end]
        start = min((r["period_start"] for r in found if r.get("period_start")), default=None)
        found = sorted(
            (r for r in found if r.get("period_start") == start), key=lambda r: (float(r["value"]), r["observation"])
        )
        values_ = sorted({r["value"] for r in found})
        tip = "\n\n".join(_figure_tip(r) for r in found)
        indicators[indicator][divisions[area]["iso"]] = (float(values_[0]), tip, len(values_) > 1)
        labels[indicator] = (str(found[0].get("indicator_label") or indicator), str(found[0].get("unit") or ""))
    for indicator in sorted(indicators, key=lambda i: (labels[i][0], i)):
        choices.append({"key": indicator, **_choice(labels[indicator][0], labels[indicator][1], indicators[indicator])})
    return choices, divisions


def _fit(text: str, most: int, size: int) -> str:
    """SVG attributes that squeeze a text longer than ``most`` characters into its tile."""
    return f' textLength="{size - 8}" lengthAdjust="spacingAndGlyphs"' if len(text) > most else ""


def map_page(
    figures: list[dict],
    measures: list[dict],
    entities: list[dict],
    *,
    title: str = "ipgraph: map",
    href: Href = _iri,
    nav: Nav = NAV,
) -> str:
    """The map: China's provincial-level divisions as a tile grid, coloured by the number of
    measures or by a chosen indicator (each division's latest figure), with a legend, tooltips
    (value, period, quote and source) and a link from each division to its page (``href``)."""
    choices, divisions = map_data(figures, measures, entities)
    by_iso = {d["iso"]: (iri, d) for iri, d in divisions.items()}
    size, gap = 80, 4
    columns = max(c for c, _ in TILES.values()) + 1
    rows_ = max(r for _, r in TILES.values()) + 1
    first = choices[0]
    parts = [
        f'<svg viewBox="0 0 {columns * (size + gap)} {rows_ * (size + gap)}" id="map" role="img" '
        'aria-label="tile map of China\'s provincial-level divisions">'
    ]
    for iso, (column, row) in sorted(TILES.items()):
        if iso not in by_iso:
            continue
        iri, division = by_iso[iso]
        colour, tip, conflict, short = first["tiles"].get(iso, [_NONE, f"{division['label']}: no measure", False, ""])
        x, y = column * (size + gap), row * (size + gap)
        link = href(iri)
        target = f' href="{_e(link)}"' if _linkable(link) else ""
        text = "#fff" if colour in _BLUES[3:] else "#222"
        parts.append(
            f'<a{target} class="tile" data-iso="{iso}">'
            f'<rect x="{x}" y="{y}" width="{size}" height="{size}" rx="4" fill="{colour}"'
            f' class="{"conflict" if conflict else ""}" data-t="{_e(tip)}"/>'
            f'<text x="{x + size / 2}" y="{y + 34}" text-anchor="middle" fill="{text}" class="name"'
            f"{_fit(division['label'], 11, size)}>{_e(division['label'])}</text>"
            f'<text x="{x + size / 2}" y="{y + 52}" text-anchor="middle" fill="{text}" class="zh"'
            f"{_fit(division.get('zh') or '', 6, size)}>{_e(division.get('zh') or '')}</text>"
            f'<text x="{x + size / 2}" y="{y + 70}" text-anchor="middle" fill="{text}" class="value">{_e(short)}</text>'
            "</a>"
        )
    parts.append("</svg>")
    options = "".join(f'<option value="{i}">{_e(c["label"])}</option>' for i, c in enumerate(choices))
    legend = "".join(f"<li>{_swatch(c)}{_e(t)}</li>" for c, t in first["legend"])
    body = (
        f'<p class="controls"><label>Colour by <select id="choice">{options}</select></label> '
        f'<span class="summary">{len(by_iso)} provincial-level divisions; hover one for its value, quote and source, '
        "click it for its page. A dashed outline marks sources that disagree.</span></p>\n"
        f'<div class="map-wrap">{"".join(parts)}<div><h2 id="legend-title">{_e(first["label"])}</h2>'
        f'<ul class="legend" id="map-legend">{legend}</ul></div></div>\n'
    )
    return _shell(title, "map", body, {"choices": choices}, nav)


def timeline_page(
    figures: list[dict],
    measures: list[dict],
    events: list[dict],
    *,
    title: str = "ipgraph: timeline",
    href: Href = _iri,
    nav: Nav = NAV,
) -> str:
    """The timeline: figures (at their period's end), measures (on the day their source reported
    them) and events (their start, a day they were under way, or the day reported), latest first,
    with a histogram per year, filterable by kind, region, agency and industry."""
    regions: dict[str, str] = {}
    agencies: dict[str, str] = {}
    industries: dict[str, str] = {}

    def pairs(iris: object, labels: object, into: dict[str, str]) -> list[str]:
        found = [i for i in str(iris or "").split("; ") if i]
        names = str(labels or "").split("; ")
        for k, iri in enumerate(found):
            into.setdefault(iri, names[k] if len(names) == len(found) else iri)
        return found

    items: list[tuple[date, str, str, dict, list[str], list[str], list[str]]] = []
    for r in figures:
        text = f"{r.get('indicator_label')}, {r.get('area_label')}: {_stated(r)} {r.get('unit') or ''} ({_period(r)})"
        items.append(
            (r["period_end"], "figure", text, r, pairs(r["area"], r.get("area_label"), regions),
             pairs(r.get("reported_by"), r.get("reported_by_label"), agencies),
             pairs(r.get("industry"), r.get("industry_label"), industries))
        )  # fmt: skip
    for r in measures:
        if not isinstance(r.get("date_published"), date):
            continue
        kind = f" ({r['measure_type_label']})" if r.get("measure_type_label") else ""
        items.append(
            (r["date_published"], "measure", f"{r.get('label') or r['measure']}{kind}", r,
             pairs(r.get("region"), r.get("region_label"), regions),
             pairs(r.get("agency"), r.get("agency_label"), agencies),
             pairs(r.get("industry"), r.get("industry_label"), industries))
        )  # fmt: skip
    for r in events:
        when = next(
            (r[k] for k in ("start_date", "occurring_on", "date_published") if isinstance(r.get(k), date)), None
        )
        if when is None:
            continue
        items.append(
            (when, "event", str(r.get("label") or r["event"]), r,
             pairs(r.get("location"), r.get("location_label"), regions), [], [])
        )  # fmt: skip
    items.sort(key=lambda item: (-item[0].toordinal(), item[1], item[2]))
    index = {
        "r": {iri: n for n, iri in enumerate(sorted(regions, key=lambda i: (regions[i], i)))},
        "a": {iri: n for n, iri in enumerate(sorted(agencies, key=lambda i: (agencies[i], i)))},
        "i": {iri: n for n, iri in enumerate(sorted(industries, key=lambda i: (industries[i], i)))},
    }
    years = Counter((item[0].year, item[1]) for item in items)
    lines, tips = [], _Tips()
    for when, kind, text, row, region_list, agency_list, industry_list in items:
        keys = " ".join(
            f'data-{k}="|{"|".join(str(index[k][iri]) for iri in found)}|"'
            for k, found in (("r", region_list), ("a", agency_list), ("i", industry_list))
        )
        tip = tips.figure(row) if kind == "figure" else tips.add(_source_text(row))
        lines.append(
            f'<li class="{kind}" data-k="{kind}" data-y="{when.year}" {keys}>'
            f'<time datetime="{when.isoformat()}">{when.isoformat()}</time>'
            f'<span class="kind">{kind}</span>{_link(href(row[_ITEM[kind]]), text, tip, "what")} '
            f"{_link(row.get('url'), str(row.get('headline') or ''), '', 'src')}</li>"
        )
    histogram = _histogram(years)

    def select(name: str, label: str, found: dict[str, str]) -> str:
        options = "".join(
            f'<option value="{n}">{_e(found[iri])}</option>'
            for iri, n in sorted(index[name].items(), key=lambda x: x[1])
        )
        return f'<label>{label} <select id="filter-{name}"><option value="">all</option>{options}</select></label>'

    kinds = "".join(
        f'<label><input type="checkbox" value="{k}" checked class="kind-box"> {k}s ({count})</label>'
        for k, count in ((k, sum(1 for item in items if item[1] == k)) for k in ("figure", "measure", "event"))
    )
    body = (
        f'<p class="controls">{kinds} {select("r", "Region", regions)} {select("a", "Agency", agencies)} '
        f"{select('i', 'Industry', industries)} "
        f'<span class="summary" id="shown">{len(items)} of {len(items)} shown</span></p>\n'
        f'<figure class="chart">{histogram}<figcaption>Items shown per year: '
        "figures (blue), measures (green), events (brown). "
        "Measures are dated by the day their source reported them.</figcaption></figure>\n"
        f'<ol class="timeline" id="timeline">\n{chr(10).join(lines)}\n</ol>\n'
    )
    return _shell(title, "timeline", body, {"tips": tips.texts}, nav)


_KIND_COLOURS = {"figure": "#4e79a7", "measure": "#59a14f", "event": "#9c755f"}
#: The column of a timeline item's own IRI, by kind.
_ITEM = {"figure": "observation", "measure": "measure", "event": "event"}


def _histogram(counts: Counter) -> str:
    """Stacked bars of items per year and kind."""
    if not counts:
        return '<svg viewBox="0 0 760 40" class="chart-svg"></svg>'
    years = range(min(y for y, _ in counts), max(y for y, _ in counts) + 1)
    totals = {year: sum(counts[(year, k)] for k in _KIND_COLOURS) for year in years}
    ticks = _ticks(max(totals.values()), 3)
    high = ticks[-1] or 1
    width, height, left, bottom = 760, 140, 40, 20
    band = (width - left) / len(years)
    scale = (height - bottom - 6) / high
    parts = [
        f'<svg viewBox="0 0 {width} {height}" class="chart-svg" id="histogram" role="img" aria-label="items per year"'
        f' data-base="{height - bottom}" data-scale="{scale}">'
    ]
    for tick in ticks:
        ty = round((1 - tick / high) * (height - bottom - 6) + 6, 1)
        parts.append(
            f'<line x1="{left}" x2="{width}" y1="{ty}" y2="{ty}" class="grid"/>'
            f'<text x="{left - 4}" y="{ty + 4}" class="axis" text-anchor="end">{_short(tick)}</text>'
        )
    for n, year in enumerate(years):
        base = height - bottom
        for kind, colour in _KIND_COLOURS.items():
            count = counts[(year, kind)]
            bar = count * scale
            parts.append(  # every year and kind has its bar (of height 0 if none): the filters redraw them
                f'<rect x="{round(left + n * band + 2, 1)}" y="{round(base - bar, 1)}" width="{round(band - 4, 1)}"'
                f' height="{round(bar, 1)}" fill="{colour}" data-year="{year}" data-kind="{kind}"'
                f' data-t="{year}: {count} {kind}{"s" if count != 1 else ""}"/>'
            )
            base -= bar
        parts.append(
            f'<text x="{round(left + (n + 0.5) * band, 1)}" y="{height - 5}" class="axis"'
            f' text-anchor="middle">{year}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


#: The tables each page is drawn from.
_NEEDS = {
    "figures": ("figures",),
    "map": ("figures", "measures", "entities"),
    "timeline": ("figures", "measures", "events"),
}


def pages(store: Store, names: tuple[str, ...] = tuple(PAGES), *, href: Href = _iri, nav: Nav = NAV) -> dict[str, str]:
    """The pages ``names`` (see :data:`PAGES`) of the graph in ``store``, by name, as HTML text;
    ``href`` gives an entity's link, ``nav`` the navigation (the server passes its own paths)."""
    needed = dict.fromkeys(table for name in names for table in _NEEDS[name])
    found = {table: tables.rows(store, table) for table in needed}
    render = {
        "figures": lambda: figures_page(found["figures"], href=href, nav=nav),
        "map": lambda: map_page(found["figures"], found["measures"], found["entities"], href=href, nav=nav),
        "timeline": lambda: timeline_page(found["figures"], found["measures"], found["events"], href=href, nav=nav),
    }
    return {name: render[name]() for name in names}


def write_pages(
    store: Store, out: str | Path, names: tuple[str, ...] = tuple(PAGES), *, as_file: bool = False
) -> list[Path]:
    """Write the pages ``names`` of the graph in ``store`` into the folder ``out``, each under its
    file name in :data:`PAGES` (or, with ``as_file``, the one page as the file ``out``); returns
    the paths.

    Raises:
        ViewError: a file cannot be written.
    """
    out = Path(out)
    paths = {name: out if as_file else out / PAGES[name] for name in names}
    try:
        for path in paths.values():
            check_writable(path)
    except OutputError as error:
        raise ViewError(f"cannot write the page: {error.message}", path=error.path) from None
    rendered = pages(store, names)
    written = []
    for name, path in paths.items():
        try:
            write_atomic(path, rendered[name].encode("utf-8"))
        except OutputError as error:
            raise ViewError(f"cannot write the {name} page: {error.message}", path=path) from None
        written.append(path)
    return written
