"""What the coordination office sees of a rebuild of the views, in a real browser (Debian's
chromium, Playwright): its phase, a progress bar and how far it came; interrupted, that it
stopped and how to go on; done, when it finished. The inbox keeps its rows meanwhile.
axe-core finds nothing, nothing scrolls sideways at 360 px; screenshots in
``test-artifacts/rebuild/``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from domain.settings import PROJECT_ROOT
from readmodel.rebuild import PROJECTING, Progress, Rebuild
from testbed.browser import accessible_and_narrow
from testbed.second_factor import sign_in_browser
from testbed.served import served_world, serving
from testbed.web import PASSWORD
from testbed.world import backlog
from tests.e2e.test_browser_e2e import launch

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "rebuild"


class Interrupt(Exception):
    pass


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Any, Any]]:
    with served_world(tmp_path, "rebuild") as (app, world, views):
        backlog(world, 100)
        views.catch_up()
        with serving(app) as base:
            yield base, world, views


def test_the_operators_see_a_rebuild_stop_and_finish(served: tuple[str, Any, Any],
                                                     tmp_path: Path) -> None:
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import expect, sync_playwright

    base, world, views = served
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    last = world.application.recorder.max_notification_id()

    def stop_halfway(progress: Progress) -> None:
        if progress.phase == PROJECTING and progress.done > last // 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        Rebuild(world.application, views.store, tmp_path, batch_size=50,
                on_progress=stop_halfway).run()

    axe = Axe()
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_context(locale="de-DE", bypass_csp=True).new_page()
        sign_in_browser(page, base, "katrin", PASSWORD)
        page.goto(f"{base}/koordination/eskalationen")
        status = page.locator(".rebuild")
        expect(status).to_contain_text("Neuaufbau der Übersichten")
        expect(status).to_contain_text("die Ereignisse werden neu eingespielt")
        bar = page.get_by_role("progressbar", name="Neuaufbau der Übersichten")
        done = int(bar.get_attribute("value") or 0)
        assert last // 2 < done < last and bar.get_attribute("max") == str(last)
        expect(status).to_contain_text(f"von {last:,}".replace(",", "."))
        accessible_and_narrow(page, axe, ARTIFACTS, "running")

        # Quiet for longer than a running rebuild ever is: it says that it stopped.
        with views.store.transaction() as cur:
            cur.execute("UPDATE {p}rebuild_progress SET updated_at = ?",
                        ((datetime.now(timezone.utc) - timedelta(minutes=10)).isoformat(),))
        page.reload()
        expect(page.locator(".rebuild")).to_contain_text(
            "unterbrochen am")
        expect(page.locator(".rebuild")).to_contain_text("erneut starten, um fortzufahren")
        accessible_and_narrow(page, axe, ARTIFACTS, "interrupted")

        Rebuild(world.application, views.store, tmp_path).run()
        page.reload()
        expect(page.locator(".rebuild")).to_contain_text(
            "Letzter Neuaufbau der Übersichten abgeschlossen am")
        expect(page.get_by_role("progressbar")).to_have_count(0)
        accessible_and_narrow(page, axe, ARTIFACTS, "done")
        browser.close()
