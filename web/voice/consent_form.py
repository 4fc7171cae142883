"""The consent form in the person's language as a PDF (fpdf2): who may see what of their
case, for which purposes, until when, and that they may withdraw it at any time; with
lines to sign. Arabic and Farsi are set right to left with HarfBuzz's shaping (uharfbuzz)
in DejaVu Sans, which has their letters, as it has the Cyrillic ones."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from fpdf import FPDF

from domain.case import Case
from web.labels import day
from web.person.words import RIGHT_TO_LEFT, need_words, sector_words
from web.reports.pdf import DEJAVU


def consent_pdf(network: Any, case: Case, consent: dict[str, Any], receiver: str,
                lead: str, language: str) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_margins(20, 20, 20)
    pdf.add_font("body", "", str(DEJAVU / "DejaVuSans.ttf"))
    pdf.add_font("body", "B", str(DEJAVU / "DejaVuSans-Bold.ttf"))
    rtl = language in RIGHT_TO_LEFT
    pdf.set_text_shaping(use_shaping_engine=True, direction="rtl" if rtl else "ltr",
                         language=language)
    pdf.set_title(_("Consent to share my case"))
    pdf.set_creator("Fallnetz")
    pdf.add_page()
    align = "R" if rtl else "L"

    def paragraph(text: str, size: int = 11, bold: bool = False, gap: float = 3) -> None:
        pdf.set_font("body", "B" if bold else "", size)
        pdf.multi_cell(0, size * 0.55, text, align=align, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    paragraph(_("Consent to share my case"), 16, bold=True, gap=5)
    paragraph(_("Case %(reference)s of %(organisation)s", reference=case.reference,
                organisation=lead))
    if receiver:
        paragraph(_("I agree that %(receiver)s may see the information of my case that it "
                    "needs to help me.", receiver=receiver))
    else:
        paragraph(_("I agree that all organisations of the area of work “%(sector)s” may see "
                    "the information of my case that they need to help me.",
                    sector=sector_words(consent.get("sector") or "")))
    purposes = ", ".join(dict.fromkeys(need_words(network, p) for p in consent["purposes"]))
    paragraph(_("For: %(purposes)s", purposes=purposes))
    paragraph(_("This consent is valid from %(given)s until %(expires)s.",
                given=day(consent["given_on"]), expires=day(consent["expires_on"])))
    paragraph(_("I can withdraw this consent at any time: tell my contact person, or use my "
                "own page with the code of my slip. Withdrawing it has no disadvantage for me. "
                "What was shared before stays recorded."))
    pdf.ln(12)
    paragraph(_("Place, date") + ": ______________________________", gap=10)
    paragraph(_("Signature") + ": ______________________________")
    return bytes(pdf.output())
