"""The weekly HTML report: self-contained, escaped, bilingual, and numerically faithful."""

from __future__ import annotations

import json
import math
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from pipelines.report import probability_waterfall, render_report, script_json, sigmoid
from tests.report_fixtures import HOSTILE_NAME, LINE_SEPARATOR_NAME, QUOTES_NAME, write_scores_dir


class _Tags(HTMLParser):
    """Collects every tag with its attributes, and the text of style elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def parse(html: str) -> _Tags:
    parser = _Tags()
    parser.feed(html)
    return parser


def page_data(html: str) -> dict:
    match = re.search(
        r'<script type="application/json" id="report-data">(.*?)</script>', html, re.S
    )
    assert match, "the page data block is missing"
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def scores_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_scores_dir(tmp_path_factory.mktemp("scores"))


@pytest.fixture(scope="module")
def html(scores_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = render_report(scores_dir, tmp_path_factory.mktemp("out") / "report.html")
    return out.read_text(encoding="utf-8")


def test_probability_waterfall_matches_a_hand_computation() -> None:
    bars = probability_waterfall(-2.0, [("a", 1.0), ("b", -0.5), ("other", 0.25)])
    expected = [
        ("base_value", 0.0, 0.11920292),  # 1 / (1 + e^2)
        ("a", 0.11920292, 0.26894142),  # sigmoid(-1)
        ("b", 0.26894142, 0.18242552),  # sigmoid(-1.5)
        ("other", 0.18242552, 0.22270014),  # sigmoid(-1.25)
    ]
    assert [b[0] for b in bars] == [e[0] for e in expected]
    for (_, start, end), (_, want_start, want_end) in zip(bars, expected, strict=True):
        assert start == pytest.approx(want_start, abs=1e-8)
        assert end == pytest.approx(want_end, abs=1e-8)
    assert sum(end - start for _, start, end in bars) == pytest.approx(sigmoid(-1.25))


def test_sigmoid_is_stable_for_extreme_scores() -> None:
    assert sigmoid(-1000.0) == 0.0
    assert sigmoid(1000.0) == 1.0
    assert sigmoid(0.0) == 0.5


def test_page_is_one_self_contained_file(html: str) -> None:
    tags = parse(html)
    names = [tag for tag, _ in tags.tags]
    assert names.count("html") == 1
    assert not {"link", "img", "iframe", "object", "embed", "base", "audio", "video"} & set(names)
    for tag, attrs in tags.tags:
        assert "src" not in attrs, f"<{tag}> loads {attrs['src']}"
        href = attrs.get("href")
        assert href is None or href.startswith("#"), f"<{tag}> links to {href}"
    css = "".join(tags.styles)
    assert "@import" not in css and "url(" not in css
    assert "url(http" not in html and "@import" not in html
    assert "https://" not in html
    # The only http URL is the SVG namespace name, which is never fetched.
    assert set(re.findall(r"http://[^\s\"']+", html)) == {"http://www.w3.org/2000/svg"}
    assert "innerHTML" not in html and "insertAdjacentHTML" not in html


def test_hostile_text_appears_only_escaped(html: str) -> None:
    assert HOSTILE_NAME not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;quotes&#34; &amp; ampersands" in html
    assert QUOTES_NAME not in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "O&#39;Brien &amp; Zn &lt;b&gt;" in html
    block = html.split('id="report-data">')[1].split("</script>")[0]
    assert "\u2028" not in block and "\u2028" in json.dumps(page_data(html), ensure_ascii=False)
    names = [tag for tag, _ in parse(html).tags]
    assert names.count("script") == 2  # the data block and the page script, nothing injected
    assert "b" not in names
    assert LINE_SEPARATOR_NAME.split("\u2028")[0] in html


def test_embedded_json_cannot_break_out_of_its_script() -> None:
    value = {"name": "</script><!-- & \u2028\u2029 >"}
    encoded = str(script_json(value))
    for raw in ("<", ">", "&", "\u2028", "\u2029"):
        assert raw not in encoded
    assert json.loads(encoded) == value


def test_both_languages_are_embedded(html: str) -> None:
    data = page_data(html)
    assert set(data["strings"]) == {"nl", "en"}
    assert data["strings"]["nl"].keys() == data["strings"]["en"].keys()
    assert '<html lang="nl">' in html
    assert "Verpakkingen met het hoogste risico" in html  # Dutch is rendered by default
    assert data["strings"]["en"]["packs.title"] == "Packs at highest risk"
    assert "samenhang, geen oorzaken" in html


def test_waterfall_bars_add_up_to_the_raw_probability(html: str, scores_dir: Path) -> None:
    details = page_data(html)["details"]
    drivers = pd.read_parquet(scores_dir / "drivers.parquet")
    risk = pd.read_parquet(scores_dir / "risk.parquet")
    for horizon in ("4", "13", "26"):
        for zi, detail in list(details[horizon].items())[:10]:
            rows = drivers[(drivers["zi_number"] == zi) & (drivers["horizon"] == int(horizon))]
            raw = float(rows["shap"].sum())  # base + top 10 + other
            bars = detail["bars"]
            assert bars[0][0] == "base_value" and bars[-1][0] == "other"
            widths = sum(end - start for *_, start, end, _text in bars)
            assert widths == pytest.approx(sigmoid(raw), abs=1e-5)
            assert detail["praw"] == pytest.approx(sigmoid(raw), abs=1e-5)
            ordered = rows[~rows["feature"].isin(["base_value", "other"])].sort_values("order")
            assert [b[0] for b in bars[1:-1]] == list(ordered["feature"])
            p = risk[(risk["zi_number"] == zi) & (risk["horizon"] == int(horizon))]["probability"]
            assert detail["p"] == pytest.approx(float(p.iloc[0]), abs=1e-6)


def test_calibrated_and_raw_probabilities_are_both_shown(html: str) -> None:
    details = page_data(html)["details"]["13"]
    assert any(abs(d["p"] - d["praw"]) > 0.01 for d in details.values())
    assert "detail.calibration_note" in page_data(html)["strings"]["nl"]


def test_sections_are_present(html: str) -> None:
    for section in ('id="packs"', 'id="gpk"', 'id="changes"', 'id="families"', 'id="status"'):
        assert section in html
    assert 'id="model"' in html and "run0013abcdef" in html and "0.270 – 0.350" in html
    assert '<svg class="calib"' in html and '<svg class="bars"' in html
    assert '<svg class="spark' in html
    assert 'id="freshness-warnings"' in html and "tenders" in html
    assert "price_headroom (13 weeks): PSI 0.31" in html
    assert re.search(r'<option value="13" selected', html)


def test_top_limit_caps_embedded_packs(scores_dir: Path, tmp_path: Path) -> None:
    html = render_report(scores_dir, tmp_path / "r.html", top=10).read_text(encoding="utf-8")
    assert html.count('<tbody class="pack"') == 10 * 3
    assert all(len(d) == 10 for d in page_data(html)["details"].values())
    assert "de 10 verpakkingen met het hoogste risico" in html


def test_missing_horizon_and_default_horizon(tmp_path: Path) -> None:
    scores = write_scores_dir(tmp_path / "a", horizons=(4, 26))
    html = render_report(scores, tmp_path / "a.html").read_text(encoding="utf-8")
    assert re.search(r'<option value="4" selected', html)  # no 13: the first horizon
    block = html.split('class="h-block" data-horizon="13"')[1]
    assert "Voor deze horizon zijn geen scores beschikbaar." in block.split("h-block")[0]
    assert "Geen modelgegevens voor deze horizon." in html


def test_optional_files_absent_and_empty_tables(tmp_path: Path) -> None:
    scores = write_scores_dir(
        tmp_path / "s", with_trend=False, with_drift=False, with_changes=False
    )
    html = render_report(scores, tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'id="trend-absent"' in html
    assert "drift.parquet ontbreekt" in html
    assert "Geen veranderingen (bijvoorbeeld de eerste week)." in html
    assert '<svg class="spark' not in html
    assert all(d["trend"] == [] for d in page_data(html)["details"]["13"].values())


@pytest.mark.parametrize("missing", ["summary.json", "risk.parquet", "gpk.parquet"])
def test_not_a_scores_directory(tmp_path: Path, scores_dir: Path, missing: str) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in scores_dir.iterdir():
        if f.name != missing:
            (broken / f.name).write_bytes(f.read_bytes())
    with pytest.raises(ValueError, match=re.escape(missing)):
        render_report(broken, tmp_path / "r.html")
    assert not (tmp_path / "r.html").exists()


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a scores directory"):
        render_report(tmp_path / "nope", tmp_path / "r.html")


def test_written_atomically_over_an_old_report(scores_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "reports" / "report.html"
    out.parent.mkdir()
    out.write_text("old", encoding="utf-8")
    assert render_report(scores_dir, out) == out
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]


def test_size_stays_reasonable_for_a_larger_week(tmp_path: Path) -> None:
    """Only the top packs are embedded, so the page grows with ``top``, not the market."""
    scores = write_scores_dir(tmp_path / "big", n_packs=400, horizons=(13,))
    out = render_report(scores, tmp_path / "big.html", top=250)
    html = out.read_text(encoding="utf-8")
    assert html.count('<tbody class="pack"') == 250
    per_pack = out.stat().st_size / 250
    assert per_pack < 6_000, f"{per_pack:.0f} bytes per embedded pack"
    assert not math.isnan(per_pack)
