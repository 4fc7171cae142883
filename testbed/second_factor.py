"""Codes of the second factor for sign-ins against a server that runs on real time (spawned
gunicorn, `make run`): the code of now, then of the next step (accepted for a phone's clock
drift), then each new one as it comes, since a code counts once and tests sign the same
user in more often than once in 30 seconds."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pyotp

from testbed.processes import wait_until
from testbed.web import SECOND_FACTOR


def codes(secret: str = SECOND_FACTOR) -> Iterator[str]:
    totp = pyotp.TOTP(secret)
    step = totp.timecode(time.time())
    yield totp.generate_otp(step)
    while True:
        step += 1
        # the server takes a code one step ahead of its clock, so step N from step N-1 on
        wait_until(lambda due=step - 1: totp.timecode(time.time()) >= due, timeout=45,
                   what="the next code of the second factor")
        yield totp.generate_otp(step)


def sign_in_browser(page, base: str, user: str, password: str,  # type: ignore[no-untyped-def]
                    secret: str = SECOND_FACTOR) -> None:
    """Signs in on the page as a user does: password, then the app's code where asked."""
    page.goto(f"{base}/anmelden")
    page.get_by_label("Benutzername").fill(user)
    page.get_by_label("Passwort").fill(password)
    page.get_by_label("Passwort").press("Enter")  # keyboard, as in the office
    page.wait_for_load_state()
    if "/anmelden/code" not in page.url:
        return
    for attempt, code in enumerate(codes(secret)):
        assert attempt < 4, f"no code of the second factor signed {user} in"
        page.get_by_label("Code").fill(code)
        page.get_by_label("Code").press("Enter")
        page.wait_for_load_state()
        if "/anmelden/code" not in page.url:
            return
