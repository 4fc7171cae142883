"""What the person's page says, in plain words and in their language: where each referral
stands, what happens next and by when. The one table of these sentences; the slip and
the consent form print from here too."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _, lazy_gettext as _l

# The languages of everything the person sees (the staff's pages stay German/English);
# Arabic and Farsi (Dari) are written right to left.
PERSON_LANGUAGES = ("de", "en", "ar", "fa", "uk", "ru")
RIGHT_TO_LEFT = ("ar", "fa")
# Each language by its own name, so the person finds theirs.
LANGUAGE_NAMES = {"de": "Deutsch", "en": "English", "ar": "العربية", "fa": "دری / فارسی",
                  "uk": "Українська", "ru": "Русский"}

# Strings of the shared forms and layout that the person's pages show too (the test of the
# person's languages checks these besides every string of web/person and its templates).
SHARED_WITH_STAFF = ("Please fill in this field.", "Please use at most {max} characters.",
                     "Please choose one of the options.",
                     "Please enter a number from {min} to {max}.",
                     "Please enter a whole number.", "This value is not valid.",
                     "This field is not part of the form.",
                     "Please remove the control characters or broken characters from this "
                     "field.", "Nothing was saved. Please check:", "required",
                     "Skip to content", "Show", "Consent")

# Need groups in words the person knows (a network's need names are the staff's).
NEED_WORDS = {
    "health": _l("Health"), "housing": _l("Housing"), "benefits": _l("Money to live on"),
    "employment": _l("Work"), "language": _l("Learning German"),
    "childcare": _l("Childcare"), "school": _l("School"), "family": _l("Family"),
    "legal": _l("Legal advice"), "volunteer": _l("Help from volunteers"),
}

# The sectors of the network's directory, in words the person knows.
SECTOR_WORDS = {
    "social_work": _l("Social work"), "health": _l("Health"), "housing": _l("Housing"),
    "employment": _l("Work"), "education": _l("School and education"),
    "administration": _l("Public offices"), "civil_society": _l("Associations and volunteers"),
}

HELPED = {"much": _l("It helped a lot"), "somewhat": _l("It helped a little"),
          "little": _l("It hardly helped"), "not_at_all": _l("It did not help")}
UNDERSTOOD = {"yes": _l("Yes, I understood everything"), "partly": _l("Only partly"),
              "no": _l("No")}


def on_person_page() -> bool:
    """Whether the request is the person's (a page of theirs, or an address below it that
    matches none): it speaks their language and shows no staff text."""
    from flask import request

    return request.blueprint == "person" or request.path.startswith("/mein-stand")


def need_words(network: Any, need: str) -> str:
    """The need's group in the person's language; a single need (a consent's purpose may
    be one) with the network's own name for it, so a signed form says exactly what it
    covers."""
    from web.i18n import language

    group, _dot, _rest = need.partition(".")
    found = network.needs.get(need)
    named = (found.label_de if language() == "de" else found.label_en) if found else None
    if group in NEED_WORDS:
        words = str(NEED_WORDS[group])
        return f"{words} ({named})" if named and named != words and "." in need else words
    return named or need


def sector_words(sector: str) -> str:
    return str(SECTOR_WORDS.get(sector, sector))


def status_words(status: str, organisation: str, due: str | None) -> str:
    """Where a referral stands and what happens next, as one sentence."""
    if status in ("requested", "received"):
        return _("%(organisation)s has your request and decides by %(due)s whether it can "
                 "help.", organisation=organisation, due=due) if due else _(
            "%(organisation)s has your request and decides whether it can help.",
            organisation=organisation)
    if status == "accepted":
        return _("%(organisation)s will help you and contacts you by %(due)s.",
                 organisation=organisation, due=due) if due else _(
            "%(organisation)s will help you and contacts you soon.", organisation=organisation)
    if status == "in-progress":
        return _("%(organisation)s is helping you.", organisation=organisation)
    if status == "on-hold":
        return _("The help from %(organisation)s waits for now (for example for a free "
                 "place).", organisation=organisation)
    if status == "completed":
        return _("The help from %(organisation)s is finished.", organisation=organisation)
    if status == "failed":
        return _("The help from %(organisation)s ended without the result hoped for.",
                 organisation=organisation)
    if status == "rejected":
        return _("%(organisation)s cannot help with this. Your contact looks for another way "
                 "with you.", organisation=organisation)
    if status == "forwarded":
        return _("%(organisation)s passed your request on to another organisation.",
                 organisation=organisation)
    return _("This request was withdrawn.")
