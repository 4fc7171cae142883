"""Server-rendered SVG charts for the reports: the network map, a month trend and bars.

Presentation attributes only (no inline style: the pages' Content-Security-Policy forbids
it); every mark has a ``<title>`` for screen readers, and the pages put the same figures in a
table beside each chart. The map's layout is a circle with each sector on its own arc, the
organisations of a sector side by side, so a reader finds a sector in the same place on
every map; the flows are chords whose width follows their count."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape

from markupsafe import Markup

from readmodel.reports import NetworkMap

# Colours with at least 3:1 contrast against white, one per sector (cycled beyond).
SECTOR_COLOURS = ("#1f5fa8", "#a3470f", "#2e7d32", "#6a3d9a", "#8a6d00", "#b0003a",
                  "#00695c", "#5d4037")
GAP_COLOUR, LINE_COLOUR, MUTED = "#b0003a", "#1f5fa8", "#5c5c5c"
DEMAND_COLOUR, PLACES_COLOUR = "#b0003a", "#2e7d32"



def network_map_svg(found: NetworkMap, names: dict[str, str], sectors: dict[str, str],
                    title: str, flow_title: Callable[[str, str, int], str],
                    node_title: Callable[[str, int, int], str]) -> Markup:
    """The organisations on a circle grouped by sector (``sectors``: code → label), the
    flows as chords from sender to receiver."""
    width, height, radius = 900, 600, 200
    cx, cy = width / 2, 280  # the legend runs along the bottom
    nodes = sorted(found.nodes, key=lambda n: (n.sector, n.name))
    positions: dict[str, tuple[float, float]] = {}
    colours: dict[str, str] = {}
    sector_order = sorted({n.sector for n in nodes})
    for index, node in enumerate(nodes):
        angle = 2 * math.pi * index / max(1, len(nodes)) - math.pi / 2
        positions[node.organisation_id] = (cx + radius * math.cos(angle),
                                           cy + radius * math.sin(angle))
        colours[node.sector] = SECTOR_COLOURS[sector_order.index(node.sector)
                                              % len(SECTOR_COLOURS)]
    most = max((f.sent for f in found.flows), default=1)
    sizes = {n.organisation_id: 6 + 10 * math.sqrt((n.sent + n.received) / max(1, 2 * most))
             for n in nodes}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'role="img" aria-labelledby="map-title" class="chart network-map">',
             f'<title id="map-title">{escape(title)}</title>']
    for flow in found.flows:
        if flow.from_organisation_id not in positions or \
                flow.to_organisation_id not in positions:
            continue
        (x1, y1), (x2, y2) = (positions[flow.from_organisation_id],
                              positions[flow.to_organisation_id])
        stroke = 1.5 + 8 * flow.sent / most
        # A curve bent towards the centre, so flows both ways stay apart; it ends at the
        # receiver's rim, where the arrow points at it.
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        bx, by = mx + (cx - mx) * 0.35, my + (cy - my) * 0.35
        gap = sizes[flow.to_organisation_id] + 2
        distance = math.hypot(x2 - bx, y2 - by) or 1
        x2, y2 = x2 - (x2 - bx) * gap / distance, y2 - (y2 - by) * gap / distance
        label = flow_title(flow.from_organisation_id, flow.to_organisation_id, flow.sent)
        # The arrowhead drawn as a triangle along the curve's last direction (markers are
        # not drawn by every renderer, e.g. the PDF's).
        ux, uy = (x2 - bx) / distance, (y2 - by) / distance
        head = 12
        tip, left, right = (x2, y2), (x2 - head * ux + head / 2 * uy,
                                      y2 - head * uy - head / 2 * ux), \
            (x2 - head * ux - head / 2 * uy, y2 - head * uy + head / 2 * ux)
        parts.append(f'<g><title>{escape(label)}</title>'
                     f'<path d="M {x1:.1f} {y1:.1f} Q {bx:.1f} {by:.1f} '
                     f'{x2 - head * ux:.1f} {y2 - head * uy:.1f}" fill="none" '
                     f'stroke="{MUTED}" stroke-opacity="0.55" stroke-width="{stroke:.1f}"/>'
                     f'<path d="M {tip[0]:.1f} {tip[1]:.1f} L {left[0]:.1f} {left[1]:.1f} '
                     f'L {right[0]:.1f} {right[1]:.1f} z" fill="{MUTED}"/></g>')
    for node in nodes:
        x, y = positions[node.organisation_id]
        r = sizes[node.organisation_id]
        anchor = "start" if x >= cx else "end"
        dx = r + 4 if x >= cx else -(r + 4)
        name = names.get(node.organisation_id, node.name)
        shown = _shortened(name, 32)
        parts.append(f'<g><title>{escape(node_title(name, node.sent, node.received))}</title>'
                     f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r:.1f}" '
                     f'fill="{colours[node.sector]}"/>'
                     f'<text x="{x + dx:.1f}" y="{y + 4:.1f}" text-anchor="{anchor}" '
                     f'font-size="12" fill="#111">{escape(shown)}</text></g>')
    legend_x, legend_y = 12, height - 14
    for sector in sector_order:
        text = sectors.get(sector, sector)
        parts.append(f'<g><rect x="{legend_x}" y="{legend_y - 10}" width="12" height="12" '
                     f'fill="{colours[sector]}"/><text x="{legend_x + 18}" y="{legend_y}" '
                     f'font-size="12" fill="#111">{escape(text)}</text></g>')
        legend_x += 18 + 7 * len(text) + 18
    parts.append("</svg>")
    return Markup("".join(parts))


def _shortened(text: str, most: int) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


def trend_svg(counts: Sequence[int], title: str) -> Markup:
    """A small line of counts per month, oldest first; the last point marked."""
    width, height, pad = 120, 28, 3
    most = max(counts, default=0) or 1
    step = (width - 2 * pad) / max(1, len(counts) - 1)
    points = [(pad + i * step, height - pad - (height - 2 * pad) * c / most)
              for i, c in enumerate(counts)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    last_x, last_y = points[-1] if points else (0, 0)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" class="chart trend"><title>{escape(title)}</title>'
        f'<polyline points="{line}" fill="none" stroke="{LINE_COLOUR}" stroke-width="1.5"/>'
        f'<circle cx="{last_x:.1f}" cy="{last_y:.1f}" r="2.5" fill="{LINE_COLOUR}"/></svg>')


def bars_svg(rows: Sequence[tuple[str, float] | tuple[str, float, str]], title: str,
             value_text: Callable[[float], str]) -> Markup:
    """Horizontal bars, one per (label, value[, colour]), the longest the largest value."""
    width, bar, gap, label_width = 760, 18, 8, 380
    height = max(1, len(rows)) * (bar + gap) + gap
    most = max((row[1] for row in rows), default=0) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'role="img" aria-labelledby="bars-title" class="chart bars">'
             f'<title id="bars-title">{escape(title)}</title>']
    for index, row in enumerate(rows):
        label, value = row[0], row[1]
        colour = row[2] if len(row) > 2 else GAP_COLOUR  # type: ignore[misc]
        y = gap + index * (bar + gap)
        length = (width - label_width - 60) * value / most
        parts.append(f'<g><title>{escape(label)}: {escape(value_text(value))}</title>'
                     f'<text x="{label_width - 6}" y="{y + bar - 5}" text-anchor="end" '
                     f'font-size="12" fill="#111">{escape(_shortened(label, 56))}</text>'
                     f'<rect x="{label_width}" y="{y}" width="{max(length, 1):.1f}" '
                     f'height="{bar}" fill="{colour}"/>'
                     f'<text x="{label_width + length + 6:.1f}" y="{y + bar - 5}" '
                     f'font-size="12" fill="#111">{escape(value_text(value))}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))


def load_bar(taken: int, capacity: int | None, title: str) -> Markup:
    """A service's load as a bar: the places taken of its capacity (full: red)."""
    width, height = 100, 12
    share = min(1.0, taken / capacity) if capacity else 0.0
    colour = GAP_COLOUR if capacity is not None and taken >= capacity else LINE_COLOUR
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" class="chart load">'
        f'<title>{escape(title)}</title>'
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff" '
        f'stroke="{MUTED}"/><rect x="0" y="0" width="{width * share:.1f}" '
        f'height="{height}" fill="{colour}"/></svg>')
