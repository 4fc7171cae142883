"""The erasure's pages in Debian's chromium at desk and phone width: the supervisor's case
page of a closed case (the erasure form) and of one whose erasure is asked for, the audit
page, the data protection officer's list and the lookup of who read a case — and the second
factor's pages: the code step of a sign-in (also with an error), the account page and the
setup with its QR code. axe-core finds no violation, and nothing is wider than the
screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest

from testbed.served import served_world, serving
from testbed.web import PASSWORD
from testbed.second_factor import codes, sign_in_browser
from tests.e2e.test_browser_e2e import launch


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, dict[str, list[str]]]]:
    with served_world(tmp_path, "privacy") as (app, world, views):
        application = world.application
        closed = world.open_case()
        world.consent(closed)
        application.referrals.cancel_referral(world.anna, world.send(closed), "weggezogen")
        application.cases.close_case(world.anna, closed, "umgezogen")
        asked = world.open_case()
        application.cases.close_case(world.anna, asked, "umgezogen")
        application.privacy.request_erasure(world.birgit, asked, "Antrag vom 3.11.")
        views.catch_up()
        reference = application.repository.get(asked).reference
        pages = {"birgit": [f"/faelle/{closed}", f"/faelle/{asked}",
                            f"/pruefung/faelle/{closed}", "/personal"],
                 "dora": ["/datenschutz", f"/datenschutz/lesezugriffe?fall={reference}",
                          "/konto", "/anmelden/einrichten"]}
        with serving(app) as base:
            yield base, pages


def test_the_erasure_pages_are_accessible_at_desk_and_phone_width(
        served: tuple[str, dict[str, list[str]]]) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    base, pages = served
    axe = Axe()
    found: list[Any] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        for user, paths in pages.items():
            for width in (1280, 360):
                # axe is injected by the test; the pages' own policy allows no foreign script.
                context = browser.new_context(locale="de-DE", bypass_csp=True,
                                              viewport={"width": width, "height": 900})
                page = context.new_page()
                sign_in_browser(page, base, user, PASSWORD)
                page.wait_for_url(lambda url: "/anmelden" not in url)
                for path in paths:
                    page.goto(base + path)
                    assert page.title(), path
                    violations = axe.run(page).response["violations"]
                    found += [(user, width, path, v["id"], [n["target"] for n in v["nodes"]])
                              for v in violations]
                    wide = page.evaluate("document.documentElement.scrollWidth")
                    if wide > width:
                        found.append((user, width, path, "wider than the screen", wide))
                context.close()
        browser.close()
    assert not found, "\n".join(map(str, found))


def test_the_code_step_of_the_sign_in_is_accessible(
        served: tuple[str, dict[str, list[str]]]) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    base, _pages = served
    axe = Axe()
    found: list[Any] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        # one user per width: each sets up a new app on the way
        for width, user in ((1280, "katrin"), (360, "root")):
            context = browser.new_context(locale="de-DE", bypass_csp=True,
                                          viewport={"width": width, "height": 900})
            page = context.new_page()
            page.goto(base + "/anmelden")
            page.get_by_label("Benutzername").fill(user)
            page.get_by_label("Passwort").fill(PASSWORD)
            page.get_by_label("Passwort").press("Enter")
            page.wait_for_url(lambda url: url.endswith("/anmelden/code"))
            for state in ("asked", "wrong code", "recovery codes"):
                if state == "wrong code":
                    page.get_by_label("Code").fill("12")
                    page.get_by_label("Code").press("Enter")
                    page.wait_for_selector(".error-summary")
                if state == "recovery codes":  # signed in, a new app set up
                    for code in codes():
                        page.get_by_label("Code").fill(code)
                        page.get_by_label("Code").press("Enter")
                        page.wait_for_load_state()
                        if "/anmelden/code" not in page.url:
                            break
                    page.goto(base + "/anmelden/einrichten")
                    key = page.locator("code.secret").inner_text().replace(" ", "")
                    page.get_by_label("Code").fill(pyotp.TOTP(key).now())
                    page.get_by_label("Code").press("Enter")
                    page.wait_for_selector("ol.recovery-codes")
                violations = axe.run(page).response["violations"]
                found += [(width, state, v["id"], [n["target"] for n in v["nodes"]])
                          for v in violations]
                if page.evaluate("document.documentElement.scrollWidth") > width:
                    found.append((width, state, "wider than the screen"))
            context.close()
        browser.close()
    assert not found, "\n".join(map(str, found))


def test_every_roles_pages_fit_a_phone_and_pass_axe(
        served: tuple[str, dict[str, list[str]]]) -> None:
    """Issue 20, points 11 and the standards: at 360 px no page scrolls sideways (wide
    tables scroll in their own box), and axe-core finds nothing, on every page of each
    role's navigation and on its first case and referral."""
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    base, _pages = served
    axe = Axe()
    found: list[Any] = []
    with sync_playwright() as playwright:
        browser = launch(playwright)
        for user in ("anna", "nadia", "birgit", "katrin", "root", "dora"):
            context = browser.new_context(locale="de-DE", bypass_csp=True,
                                          viewport={"width": 360, "height": 800})
            page = context.new_page()
            sign_in_browser(page, base, user, PASSWORD)
            paths = [link.get_attribute("href") for link in
                     page.locator("header nav a").all()] + ["/konto"]
            if user == "anna":  # the forms of a new case, and a link that is no more
                paths += ["/faelle/neu", "/zugang/" + "0" * 32 + ".spent"]
            for path in list(paths):
                page.goto(base + path)
                first = page.locator("main table a[href^='/faelle/'], "
                                     "main table a[href^='/vermittlungen/']").first
                if path in ("/faelle", "/eingang") and first.count():
                    paths.append(first.get_attribute("href"))
            for path in paths:
                page.goto(base + path)
                if page.evaluate("document.documentElement.scrollWidth") > 360:
                    found.append((user, path, "wider than the screen"))
                found += [(user, path, v["id"], [n["target"] for n in v["nodes"]])
                          for v in axe.run(page).response["violations"]]
            context.close()
        browser.close()
    assert not found, "\n".join(map(str, found))
