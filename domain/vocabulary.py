"""Closed vocabularies of the domain (DESIGN §3, §5). Need categories are network data instead
(see :mod:`domain.network`), because networks refine them."""

from __future__ import annotations

SECTORS = (
    "social_work", "health", "housing", "employment", "education", "administration",
    "civil_society",
)

LEGAL_SPHERES = ("AsylbLG", "SGB II", "SGB XII", "SGB VIII")

RESIDENCE_STATUSES = (
    "arrival_certificate",    # Ankunftsnachweis
    "gestattung",             # Aufenthaltsgestattung
    "duldung",                # Duldung
    "permit_25",              # Aufenthaltserlaubnis §25
    "permit_24",              # Aufenthaltserlaubnis §24
    "settlement_permit",      # Niederlassungserlaubnis
)

HOUSING_STAGES = (
    "initial_reception",      # Erstaufnahme
    "shared_accommodation",   # Gemeinschaftsunterkunft
    "followup_accommodation",  # Anschlussunterbringung
    "own_flat",               # eigene Wohnung
)

URGENCIES = ("crisis", "urgent", "routine")

REFERRAL_KINDS = ("service", "lead_handoff")
