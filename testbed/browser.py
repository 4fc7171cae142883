"""What every browser test checks of a page it looks at: axe-core finds nothing, and the page
does not scroll sideways, at desk width and on a 360 px phone; with a screenshot of each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# The elements reaching beyond the window's right edge, for the message of a failure.
WIDEST = """[...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > window.innerWidth
               && !e.closest('.table-scroll, svg'))
  .map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))
  .slice(0, 8)"""


def accessible_and_narrow(page: Any, axe: Any, shots: Path, name: str) -> None:
    for width in (1280, 360):
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=shots / f"{name}-{width}.png", full_page=True)
        violations = axe.run(page).response["violations"]
        assert violations == [], (name, width, [
            (v["id"], [n["target"] for n in v["nodes"]]) for v in violations])
        sideways = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert sideways <= 0, (name, width, sideways, page.evaluate(WIDEST))
    page.set_viewport_size({"width": 1280, "height": 900})
