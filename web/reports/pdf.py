"""The reports as PDF on A4 landscape, with fpdf2: a title, what was counted, the chart
(the page's own SVG) and the figures as a table. Counts are given already suppressed by
the caller (a PDF leaves the office)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.fonts import FontFace

# Debian's DejaVu (fonts-dejavu-core) writes every character of the pages; without it the
# PDF falls back to the core Helvetica and writes what Latin-1 has.
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
LATIN_1_STAND_INS = {"–": "-", "—": "-", "÷": "/", "→": "->", "≥": ">=", "…": "...",
                     "„": '"', "“": '"'}


def _latin_1(text: str) -> str:
    for char, stand_in in LATIN_1_STAND_INS.items():
        text = text.replace(char, stand_in)
    return text.encode("latin-1", "replace").decode("latin-1")


# How much smaller a report may be drawn to fit on one page (see :func:`on_one_page`):
# at 80 % the tables' type is 6 pt, still readable on paper.
SCALES = (1.0, 0.9, 0.8)


class ReportPdf(FPDF):
    def __init__(self, title: str, footer_text: str, scale: float = 1.0) -> None:
        super().__init__(orientation="landscape", format="A4")
        self.report_title = title
        self.footer_text = footer_text
        self.scale = scale  # of the tables' type and the charts
        self.unicode = (DEJAVU / "DejaVuSans.ttf").exists()
        if self.unicode:
            self.add_font("body", "", str(DEJAVU / "DejaVuSans.ttf"))
            self.add_font("body", "B", str(DEJAVU / "DejaVuSans-Bold.ttf"))
            self.family = "body"
        else:
            self.family = "helvetica"
        self.set_auto_page_break(auto=True, margin=14)
        self.set_title(title)
        self.set_creator("Fallnetz")
        self.add_page()

    def text_of(self, value: Any) -> str:
        text = "–" if value is None else str(value)
        return text if self.unicode else _latin_1(text)

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font(self.family, "", 8)
        self.cell(0, 6, self.text_of(f"{self.footer_text} · {self.page_no()}/{{nb}}"),
                  align="C")

    def heading(self, subtitle: str) -> None:
        self.set_font(self.family, "B", 15)
        self.multi_cell(0, 8, self.text_of(self.report_title), new_x="LMARGIN", new_y="NEXT")
        self.set_font(self.family, "", 9)
        self.multi_cell(0, 5, self.text_of(subtitle), new_x="LMARGIN", new_y="NEXT")
        self.ln(2)

    def section(self, title: str) -> None:
        self.ln(3)
        self.set_font(self.family, "B", 12)
        self.multi_cell(0, 7, self.text_of(title), new_x="LMARGIN", new_y="NEXT")
        self.ln(1)

    def chart(self, svg: str, width: float) -> None:
        # fpdf2 draws an SVG's text in a core font, which writes Latin-1 only; the titles
        # for screen readers have no place on paper.
        drawn = re.sub(r"<title[^>]*>.*?</title>", "", _latin_1(svg), flags=re.S)
        self.image(io.BytesIO(drawn.encode()), w=width * self.scale)
        self.ln(2)

    def table_of(self, header: Sequence[str], rows: Sequence[Sequence[Any]],
                 widths: Sequence[int] | None = None) -> None:
        self.set_font(self.family, "", 7.5 * self.scale)
        with self.table(col_widths=widths, text_align="LEFT", line_height=4.2 * self.scale,
                        # A size below the body's, so German headings break between
                        # words, not inside them ("Vermittlu-ngen").
                        headings_style=FontFace(emphasis="BOLD", size_pt=6 * self.scale),
                        repeat_headings=1) as table:
            heading = table.row()
            for text in header:
                heading.cell(self.text_of(text))
            for values in rows:
                row = table.row()
                for value in values:
                    row.cell(self.text_of(value))

    def note(self, text: str) -> None:
        self.ln(2)
        self.set_font(self.family, "", 8)
        self.multi_cell(0, 4, self.text_of(text), new_x="LMARGIN", new_y="NEXT")

    def output_bytes(self) -> bytes:
        return bytes(self.output())


def on_one_page(title: str, footer_text: str,
                draw: Callable[[ReportPdf], None]) -> ReportPdf:
    """The report drawn on one page (A4 landscape, as the network's reports are printed
    and pinned up), smaller where it has to be, down to 80 %; one too long even for that
    goes on over pages at full size."""
    for scale in SCALES:
        pdf = ReportPdf(title, footer_text, scale)
        draw(pdf)
        if pdf.page_no() == 1:
            return pdf
    pdf = ReportPdf(title, footer_text)
    draw(pdf)
    return pdf
