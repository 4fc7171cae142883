"""The Organigramm as a server-rendered SVG: the housing stages as columns from the first
reception to the own flat, the needs as rows, in each cell the organisations the map names
(boxes framed in their sector's colour, the legal spheres they answer for in brackets) and
the start of what the people can do themselves; beneath, the volunteer initiatives of the
district. Presentation attributes only (the pages' Content-Security-Policy forbids inline
style); every box has a ``<title>``; the pages put the same in tables beside it."""

from __future__ import annotations

from collections.abc import Callable
from xml.sax.saxutils import escape

from markupsafe import Markup

from domain.responsibilities import Handout, Named
from web.reports.charts import SECTOR_COLOURS

LABEL_WIDTH, COLUMN, GAP, PAD = 200, 244, 10, 8
ONE_LINE, LINE = 20, 14  # a box of one line, and each further line of text
TALLEST = ONE_LINE + LINE + 2 * (LINE - 1)  # a box with two lines of name and two beneath
HEADER = 52
INK, MUTED, RULE = "#111111", "#4d4d4d", "#c8c8c8"
SECTORS = ("social_work", "health", "housing", "employment", "education", "administration",
           "civil_society")


def sector_colour(sector: str) -> str:
    index = SECTORS.index(sector) if sector in SECTORS else len(SECTORS)
    return SECTOR_COLOURS[index % len(SECTOR_COLOURS)]


def _short(text: str, most: int) -> str:
    return text if len(text) <= most else text[:most - 1] + "…"


def _lines(text: str, width: int, most: int) -> list[str]:
    """The text in lines of at most ``width`` characters, at most ``most`` lines (the last
    one shortened): SVG wraps nothing by itself."""
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    if len(lines) > most:
        lines = lines[:most]
        lines[-1] = _short(lines[-1] + " …", width)
    return [_short(line, width) for line in lines]


def _text_lines(x: float, y: float, lines: list[str], **attributes: str) -> str:
    extra = " ".join(f'{k.replace("_", "-")}="{v}"' for k, v in attributes.items())
    return "".join(f'<text x="{x}" y="{y + index * LINE:.0f}" {extra}>{escape(line)}</text>'
                   for index, line in enumerate(lines))


def organigramm_svg(found: Handout, *, title: str, need_label: Callable[[str], str],
                    stage_label: Callable[[str], str], sector_label: Callable[[str], str],
                    spheres_label: Callable[[Named], str], self_help_text: Callable[[str], str],
                    self_help: Callable[[str, str], str], volunteers_title: str,
                    nobody: str) -> Markup:
    """``spheres_label``: "only SGB II" for an organisation named for some legal spheres
    ("" for all); ``self_help(need, stage)``: the text in the reader's language, or ""."""
    stages = found.housing_stages
    needs = list(dict.fromkeys(r.need for r in found.rows))
    width = LABEL_WIDTH + len(stages) * (COLUMN + GAP) + GAP
    parts: list[str] = []
    # The stages as one path of arrows, the order a person moves through them.
    for index, stage in enumerate(stages):
        x = LABEL_WIDTH + GAP + index * (COLUMN + GAP)
        tip = 14 if index < len(stages) - 1 else 0
        points = (f"{x},{PAD} {x + COLUMN - tip},{PAD} {x + COLUMN},{PAD + 18} "
                  f"{x + COLUMN - tip},{PAD + 36} {x},{PAD + 36}")
        if index:
            points += f" {x + 14},{PAD + 18}"
        parts.append(f'<g><title>{escape(stage_label(stage))}</title>'
                     f'<polygon points="{points}" fill="#0b4f6c"/>'
                     f'<text x="{x + COLUMN / 2:.0f}" y="{PAD + 23}" text-anchor="middle" '
                     f'font-size="13" font-weight="bold" fill="#ffffff">'
                     f'{escape(_short(stage_label(stage), 30))}</text></g>')
    y = HEADER
    for need in needs:
        cells = []
        for index, stage in enumerate(stages):
            x = LABEL_WIDTH + GAP + index * (COLUMN + GAP)
            cell, top = [], y + 5
            row = found.row(need, stage)
            named = row.organisations if row else ()
            if not named:
                cell.append(f'<text x="{x + 4}" y="{top + 14}" font-size="11" '
                            f'fill="{MUTED}">{escape(nobody)}</text>')
                top += ONE_LINE + 4
            for organisation in named:
                box, height = _box(x, top, organisation, organisation.name,
                                   spheres_label(organisation),
                                   sector_label(organisation.sector))
                cell.append(box)
                top += height + 4
            said = self_help(need, stage)
            if said:
                lines = _lines(self_help_text(said), 40, 6)
                cell.append(f'<g><title>{escape(self_help_text(said))}</title>'
                            + _text_lines(x + 4, top + 11, lines, font_size="11",
                                          font_style="italic", fill=INK) + "</g>")
                top += len(lines) * LINE + 4
            cells.append((cell, top))
        label_lines = _lines(need_label(need), 26, 2)
        bottom = max([top for _cell, top in cells] + [y + 5 + len(label_lines) * LINE + 6])
        parts.append(f'<line x1="0" y1="{y}" x2="{width}" y2="{y}" stroke="{RULE}"/>')
        parts.append(f'<g><title>{escape(need_label(need))}</title>'
                     + _text_lines(4, y + 19, label_lines, font_size="12",
                                   font_weight="bold", fill=INK) + "</g>")
        for cell, _top in cells:
            parts += cell
        y = bottom + PAD
    parts.append(f'<line x1="0" y1="{y}" x2="{width}" y2="{y}" stroke="{RULE}"/>')
    if found.engagements:
        y += PAD
        parts.append(f'<text x="4" y="{y + 16}" font-size="13" font-weight="bold" '
                     f'fill="{INK}">{escape(volunteers_title)}</text>')
        y += 26
        per_row = len(stages) or 1
        for index, engagement in enumerate(found.engagements):
            column, line = index % per_row, index // per_row
            x = LABEL_WIDTH + GAP + column * (COLUMN + GAP)
            box, _height = _box(x, y + line * (TALLEST + 6), engagement.organisation,
                                engagement.organisation.name, engagement.service,
                                sector_label(engagement.organisation.sector))
            parts.append(box)
        y += ((len(found.engagements) - 1) // per_row + 1) * (TALLEST + 6) + PAD
    # The legend: the sectors shown.
    shown = sorted({n.sector for r in found.rows for n in r.organisations}
                   | {e.organisation.sector for e in found.engagements},
                   key=lambda s: SECTORS.index(s) if s in SECTORS else len(SECTORS))
    y += PAD
    x = 4
    for sector in shown:
        text = sector_label(sector)
        step = 22 + 7 * len(text) + 18
        if x + step > width:
            x, y = 4, y + 24
        parts.append(f'<g><rect x="{x}" y="{y}" width="14" height="14" fill="#ffffff" '
                     f'stroke="{sector_colour(sector)}" stroke-width="3"/>'
                     f'<text x="{x + 20}" y="{y + 12}" font-size="12" fill="{INK}">'
                     f'{escape(text)}</text></g>')
        x += step
    height = y + 24
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
            f'role="img" aria-labelledby="organigramm-title" '
            f'class="chart organigramm stages-{len(stages)}">'
            f'<title id="organigramm-title">{escape(title)}</title>')
    return Markup(head + "".join(parts) + "</svg>")


def _box(x: float, y: float, organisation: Named, first: str, second: str,
         sector: str) -> tuple[str, int]:
    """A box framed in the sector's colour: the name (on two lines where it is long: a
    volunteer reads it on paper, so it is not cut short), and beneath it the legal spheres
    or a volunteer initiative's offer where there is one."""
    colour = sector_colour(organisation.sector)
    names = _lines(first, 36, 2)
    more = _lines(second, 42, 2) if second else []
    height = ONE_LINE + (len(names) - 1) * LINE + len(more) * (LINE - 1)
    said = f"{first} ({second})" if second else first
    return (f'<g><title>{escape(said)} – {escape(sector)}</title>'
            f'<rect x="{x}" y="{y}" width="{COLUMN}" height="{height}" fill="#ffffff" '
            f'stroke="{colour}" stroke-width="1.5" rx="2"/>'
            f'<rect x="{x}" y="{y}" width="6" height="{height}" fill="{colour}"/>'
            + _text_lines(x + 11, y + 14, names, font_size="11", fill=INK)
            + _text_lines(x + 11, y + 14 + len(names) * LINE - 1, more, font_size="10",
                          fill=MUTED)
            + "</g>"), height


def spheres_text(organisation: Named, only: Callable[[str], str]) -> str:
    """"Jobcenter Cottbus (nur SGB II)" where the map names it for some legal spheres."""
    if not organisation.legal_spheres:
        return organisation.name
    return f"{organisation.name} ({only(', '.join(organisation.legal_spheres))})"
