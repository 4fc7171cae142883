"""The case list (until the web issue adds sign-in, only non-personal case metadata)."""

from __future__ import annotations

from flask import Blueprint, render_template

from domain.referral import OPEN_STATES, STATE_LABELS
from web.engine import engine

bp = Blueprint("cases", __name__)

LEGAL_SPHERE_ORDER = ("AsylbLG", "SGB II", "SGB XII", "SGB VIII")


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    app = engine()
    organisations = {o.id: o for o in app.organisations()}
    referrals_by_case: dict = {}
    for referral in app.referrals():
        referrals_by_case.setdefault(referral.case_id, []).append(referral)
    rows = []
    for case in sorted(app.cases(), key=lambda c: c.reference):
        referrals = referrals_by_case.get(case.id, [])
        rows.append({
            "reference": case.reference,
            "lead": organisations[case.lead_organisation_id].name,
            "district": case.person["district"],
            "legal_sphere": case.legal_sphere,
            "status": "offen" if case.is_open else "geschlossen",
            "open_needs": sum(1 for n in case.needs.values() if n["status"] == "open"),
            "open_referrals": sum(1 for r in referrals if r.status in OPEN_STATES),
            "referral_states": sorted({STATE_LABELS[r.status] for r in referrals}),
        })
    return render_template("cases/index.html", rows=rows, network=app.network)
