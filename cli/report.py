"""``report --html``: one self-contained HTML file (inline SVG; no script, no network, no
external fonts) picturing a week (``ledger.week``); and its compact Markdown form for GitHub's
step summary."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from html import escape
from zoneinfo import ZoneInfo

from cli.render import markdown_text
from ledger.timefmt import show
from ledger.week import OUTCOMES, Span, Week

COLOURS = {"deploy-expensive": "#7d3c98", "deploy": "#1e8449", "wait": "#d35400",
           "skip": "#95a5a6", "forecast": "#e91e63", "busy": "#f5d0d0", "freeze": "#c8c8f0",
           "holiday": "#cfe8cf",
           "deploy-bar": "#1c2833", "pending": "#f0b27a", "lease": "#5dade2", "hold": "#c0392b"}
LEFT, WIDTH, ROW, TOP = 130, 1000, 34, 60
LEGEND = [("busy", "busy time"), ("freeze", "freeze"), ("holiday", "holiday"),
          *((o, f"build: {o}") for o in OUTCOMES), ("deploy-bar", "deploy, as long as its work"),
          ("pending", "work pending"), ("lease", "lease"), ("hold", "hold"),
          ("forecast", "forecast (dashed)")]


def html(week: Week, zone: ZoneInfo, title: str) -> str:
    """The whole page."""
    kinds = sorted({s.label for s in week.spans if s.row == "pending"})
    # Rows are keyed apart from their labels: a work kind may be called "lease".
    keys = [("row", "builds"), ("row", "deploy"), *(("kind", k) for k in kinds), ("row", "lease"),
            ("row", "hold")]
    rows = ["builds", "deploys", *kinds, "lease", "hold"]
    height = TOP + ROW * len(rows) + 120
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{LEFT + WIDTH + 20}" '
           f'height="{height}" role="img" aria-label="{escape(title)}">',
           '<rect width="100%" height="100%" fill="#ffffff"/>']
    plot = ROW * len(rows)
    for span in week.shaded:
        svg.append(_bar(week, span, TOP, plot, COLOURS[span.row], span.row))
    svg += _days(week, zone, plot)
    for index, name in enumerate(rows):
        y = TOP + ROW * index
        svg.append(f'<text x="8" y="{y + ROW / 2 + 4}" font-size="13">{escape(name)}</text>')
        svg.append(f'<line x1="{LEFT}" x2="{LEFT + WIDTH}" y1="{y + ROW}" y2="{y + ROW}" '
                   'stroke="#dddddd"/>')
    for span in week.spans:
        index = keys.index(("kind", span.label) if span.row == "pending" else ("row", span.row))
        colour = COLOURS["deploy-bar" if span.row == "deploy" else span.row]
        svg.append(_bar(week, span, TOP + ROW * index + 8, ROW - 16, colour, span.row,
                        span.label if span.row == "pending" else ""))
    for mark in week.builds:
        svg.append(f'<circle class="build" data-outcome="{mark.outcome}" '
                   f'cx="{_x(week, mark.at):.1f}" cy="{TOP + ROW / 2}" r="6" '
                   f'fill="{COLOURS[mark.outcome]}" stroke="#000" stroke-width="0.5">'
                   f'<title>{escape(show(mark.at, zone))}: {escape(mark.label)}</title></circle>')
    if week.forecast_at is not None and week.start <= week.forecast_at < week.end:
        x = _x(week, week.forecast_at)
        svg.append(f'<line class="forecast" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP - 8}" '
                   f'y2="{TOP + plot}" stroke="{COLOURS["forecast"]}" stroke-dasharray="5,4" '
                   'stroke-width="2"/>')
    svg.append(f'<text class="forecast-text" x="{LEFT}" y="{TOP + plot + 28}" font-size="14">'
               f'forecast: {escape(week.forecast or "nothing pending")}</text>')
    svg += _legend(TOP + plot + 50)
    svg.append("</svg>")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(title)}</title>"
            "<style>body{font-family:sans-serif;margin:16px;color:#1c2833}"
            "svg text{font-family:sans-serif}</style></head><body>"
            f"<h1 style=\"font-size:18px\">{escape(title)}</h1>\n" + "\n".join(svg)
            + "\n</body></html>\n")


def markdown(week: Week, zone: ZoneInfo) -> str:
    """The week as a Markdown table, a row a day: builds by outcome, deploys, what waited."""
    out = ["| day | builds | deploys | pending |", "|---|---|---|---|"]
    for offset in range(7):
        lo, hi = _midnight(week, zone, offset), _midnight(week, zone, offset + 1)
        day = lo.astimezone(zone)
        marks = [m for m in week.builds if lo <= m.at < hi]
        counts = ", ".join(f"{sum(m.outcome == o for m in marks)} {o}" for o in OUTCOMES
                           if any(m.outcome == o for m in marks)) or "-"
        deploys = [markdown_text(s.label) for s in week.spans
                   if s.row == "deploy" and lo <= s.start < hi]
        pending = sorted({s.label for s in week.spans
                          if s.row == "pending" and s.start < hi and s.end > lo})
        out.append(f"| {day.strftime('%a %d %b')} | {counts} | {'; '.join(deploys) or '-'} | "
                   f"{', '.join(pending) or '-'} |")
    return "\n".join(out) + f"\n\nForecast: {markdown_text(week.forecast or 'nothing pending')}\n"


def _midnight(week: Week, zone: ZoneInfo, offset: int) -> datetime:
    monday = week.start.astimezone(zone).date()
    return datetime.combine(monday + timedelta(days=offset), time(0), tzinfo=zone)


def _x(week: Week, moment: datetime) -> float:
    total = (week.end - week.start).total_seconds()
    part = (min(max(moment, week.start), week.end) - week.start).total_seconds()
    return LEFT + WIDTH * part / total


def _bar(week: Week, span: Span, y: float, height: float, colour: str, kind: str,
         data: str = "") -> str:
    a, b = _x(week, span.start), _x(week, span.end)
    extra = f' data-kind="{escape(data)}"' if data else ""
    return (f'<rect class="{kind}"{extra} x="{a:.1f}" y="{y:.1f}" width="{max(b - a, 3):.1f}" '
            f'height="{height:.1f}" fill="{colour}"><title>{escape(span.label)}</title></rect>')


def _days(week: Week, zone: ZoneInfo, plot: float) -> list[str]:
    out = []
    for offset in range(8):
        day = _midnight(week, zone, offset).astimezone(zone)
        x = _x(week, day)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP - 20}" y2="{TOP + plot}" '
                   'stroke="#888888"/>')
        if offset < 7:
            out.append(f'<text x="{x + 4:.1f}" y="{TOP - 6}" font-size="12">'
                       f'{day.strftime("%a %d %b")}</text>')
    return out


def _legend(y: float) -> list[str]:
    out, x = [], LEFT
    for key, text in LEGEND:
        width = 28 + 7 * len(text)
        if x + width > LEFT + WIDTH:  # wrap onto the next line
            x, y = LEFT, y + 22
        out.append(f'<rect class="legend" x="{x}" y="{y}" width="14" height="14" '
                   f'fill="{COLOURS[key]}" stroke="#555"/>')
        out.append(f'<text x="{x + 18}" y="{y + 12}" font-size="12">{escape(text)}</text>')
        x += width
    return out
