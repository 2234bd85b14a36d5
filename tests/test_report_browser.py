"""The report in a real headless Chromium: offline, no errors, and the controls work.

Uses Debian's chromium (``make browser`` installs it); a missing browser is a failure,
not a skip, so CI can never pass without running these checks.
"""

from __future__ import annotations

import shutil
import struct
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from pipelines.report import render_report
from tests.report_fixtures import write_scores_dir

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VISIBLE = "document.querySelectorAll('.h-block.active tbody.pack:not([hidden])')"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.fail(f"{CHROMIUM} not found: run `make browser` to install Debian's chromium")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def scores_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_scores_dir(tmp_path_factory.mktemp("scores"))


def visible_count(page: Page) -> int:
    return int(page.evaluate(f"{VISIBLE}.length"))


def visible_probabilities(page: Page) -> list[float]:
    return [float(x) for x in page.evaluate(f"Array.from({VISIBLE}, e => e.dataset.prob)")]


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_report_in_headless_chromium(browser: Browser, scores_dir: Path, tmp_path: Path) -> None:
    report = render_report(scores_dir, tmp_path / "report.html")
    url = report.resolve().as_uri()
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url)
    page.wait_for_load_state("load")

    risk = pd.read_parquet(scores_dir / "risk.parquet").query("horizon == 13")
    gpk = pd.read_parquet(scores_dir / "gpk.parquet").drop_duplicates("gpk").set_index("gpk")
    assert visible_count(page) == len(risk)  # 40 packs, all inside the default top 100

    page.select_option("#f-atc", "J")
    assert visible_count(page) == int(risk["atc"].str.startswith("J").sum())
    page.select_option("#f-atc", "C07")
    assert visible_count(page) == int(risk["atc"].str.startswith("C07").sum())
    page.select_option("#f-atc", "")
    page.select_option("#f-crit", "red")
    assert visible_count(page) == int((risk["gpk"].map(gpk["critical"]) == "red").sum())
    page.select_option("#f-crit", "")
    page.select_option("#f-sup", "1")
    assert visible_count(page) == int((risk["gpk"].map(gpk["suppliers"]) == 1).sum())
    page.select_option("#f-sup", "")
    page.fill("#f-search", "amoxicilline")
    assert visible_count(page) == 1
    page.fill("#f-search", str(risk["zi_number"].iloc[5]))
    assert visible_count(page) == 1
    page.fill("#f-search", "no such pack")
    assert visible_count(page) == 0 and page.is_visible(".h-block.active .none-match")
    page.fill("#f-search", "")
    page.select_option("#f-top", "25")
    assert visible_count(page) == 25
    page.select_option("#f-top", "100")

    heading = page.locator(".h-block.active th[data-key=prob].num")
    heading.click()
    ascending = visible_probabilities(page)
    assert ascending == sorted(ascending) and ascending[0] < ascending[-1]
    heading.click()
    assert visible_probabilities(page) == sorted(ascending, reverse=True)
    assert heading.get_attribute("aria-sort") == "descending"

    page.locator(".h-block.active tbody.pack tr.main").first.click()
    detail = page.locator(".h-block.active tr.detail:not([hidden])")
    assert detail.count() == 1
    assert detail.locator("svg.waterfall rect").count() == 13  # base, 10, other, total
    assert detail.locator("svg.trend circle").count() == 9  # 8 past weeks and this week

    assert page.inner_text("#packs-heading") == "Verpakkingen met het hoogste risico"
    page.click("#lang-toggle")
    assert page.inner_text("#packs-heading") == "Packs at highest risk"
    assert page.evaluate("document.documentElement.lang") == "en"
    assert "Calibrated probability" in detail.inner_text()

    page.select_option("#horizon", "4")
    assert page.get_attribute(".h-block.active", "data-horizon") == "4"
    assert visible_count(page) == len(risk)

    page.select_option("#horizon", "13")
    shot = tmp_path / "report.png"
    page.screenshot(path=str(shot), full_page=False)
    width, height = png_size(shot)
    assert (width, height) == (1400, 1000) and shot.stat().st_size > 30_000

    assert errors == []
    assert requests == [url], f"unexpected requests: {requests}"
    page.close()
