"""The one-page debrief report (sim.debrief): standalone HTML whose numbers are the run's."""

from __future__ import annotations

import base64
import html
import os
import re
from pathlib import Path

import pytest

from sim import debrief
from sim.debrief import REALITY_EVENTS, REALITY_SUMMARY, ensemble_for, report_html, write_report
from sim.ensemble import Ensemble
from sim.loading import resolve
from sim.runner import Runner

STRAIT = str(Path(__file__).parent / "fixtures" / "strait.yaml")
RUNS = 30  # small ensembles keep the module at a few seconds
RATIFY_SET = "protocol.ratification.russia=0.2"
RATIFIED_SEED = 5  # with RATIFY_SET, this seed signs at meeting 11 and both countries ratify
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def field(page: str, key: str) -> str:
    """Text of the element marked ``data-key=key``."""
    m = re.search(rf'data-key="{re.escape(key)}"[^>]*>([^<]*)<', page)
    assert m, f"no element data-key={key!r} in the report"
    return html.unescape(m.group(1)).strip()


def value(page: str, key: str) -> str:
    m = re.search(rf'data-key="{re.escape(key)}"[^>]*data-value="([^"]*)"', page)
    assert m, f"no data-value for data-key={key!r}"
    return html.unescape(m.group(1))


def images(page: str) -> list[str]:
    return re.findall(r'<img\b[^>]*\bsrc="([^"]*)"', page)


@pytest.fixture(scope="module")
def baseline():
    r = resolve("baseline")
    result = Runner(r.data).run(0)
    return r, result, report_html(result, ensemble_runs=RUNS)


@pytest.fixture(scope="module")
def ratified():
    r = resolve("baseline", [RATIFY_SET])
    result = Runner(r.data).run(RATIFIED_SEED)
    assert result.status == "ratified", "the chosen seed no longer ratifies: pick another"
    return r, result, report_html(result, r, ensemble_runs=RUNS)


@pytest.fixture(scope="module")
def strait():
    r = resolve(STRAIT)
    result = Runner(r.data).run(1)
    return r, result, report_html(result, r, ensemble_runs=RUNS)


# --------------------------------------------------------------------------- standalone


@pytest.mark.parametrize("which", ["baseline", "ratified", "strait"])
def test_report_is_standalone(which, request):
    _, _, page = request.getfixturevalue(which)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    for attr, target in re.findall(r'\b(src|href)\s*=\s*["\']([^"\']*)', page, re.I):
        assert not re.match(r"\s*(https?:)?//", target, re.I), f"external {attr}: {target[:60]}"
        if attr.lower() == "src":
            assert target.startswith("data:image/png;base64,")
    lowered = page.lower()
    for banned in ("<script", "@import", "@font-face", "<link", "<iframe", "url(",
                   "fonts.googleapis", "http://", "https://"):
        assert banned not in lowered, banned
    for src in images(page):
        png = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("which", ["baseline", "ratified"])
def test_numbers_are_the_results(which, request):
    r, result, page = request.getfixturevalue(which)
    assert value(page, "status") == result.status
    assert field(page, "reason") == result.reason
    assert field(page, "outcome_class") == result.outcome_class
    assert field(page, "seed") == str(result.seed)
    assert field(page, "version") == result.negsim_version
    assert result.scenario.sha256.startswith(field(page, "sha256"))
    assert r.scenario.title in html.unescape(page)
    for party in r.scenario.parties:
        assert field(page, f"utility.{party}") == f"{result.utility[party]:.2f}"
        assert field(page, f"approval.{party}") == f"{result.approval[party]:.1%}"
        assert field(page, f"support.{party}") == f"{result.support[party]:.1%}"
        expect = ("no vote" if result.ratified is None
                  else "yes" if result.ratified[party] else "no")
        assert field(page, f"ratified.{party}") == expect


def test_ratified_report_shows_the_deal_and_the_meeting(ratified):
    r, result, page = ratified
    assert result.round is not None
    assert field(page, "round") == str(result.round)
    assert value(page, "status") == "ratified"
    for issue, option in result.deal.items():
        assert field(page, f"deal.{issue}") == debrief.option_text(r.scenario, issue, option)
    assert "--set protocol.ratification.russia=0.2" in page  # how to reproduce it


def test_no_agreement_report_says_so(baseline):
    _, result, page = baseline
    assert result.status == "no_agreement" and result.deal is None
    assert "No deal was signed" in page
    assert 'data-key="round"' not in page


@pytest.mark.parametrize("which", ["baseline", "ratified"])
def test_ensemble_probabilities_equal_an_ensemble_run(which, request):
    r, result, page = request.getfixturevalue(which)
    ens = Ensemble(Runner(r.data), RUNS, result.seed, 1).execute().result()
    shown = ens["outcome_class"][result.outcome_class]
    assert float(value(page, "ensemble.class.p")) == shown["p"]
    assert field(page, "ensemble.class.p") == debrief._pct(shown["p"])
    assert field(page, "ensemble.runs") == str(RUNS)
    status = ens["status"][result.status]
    assert float(value(page, "ensemble.status.p")) == status["p"]
    for block in ("status", "outcome_class"):
        for key, s in ens[block].items():
            assert field(page, f"p.{block}.{key}") == debrief._pct(s["p"])
    sentence = re.sub(r"<[^>]+>", "", field_html(page, "ensemble.sentence"))
    pct = debrief._pct
    assert f"{pct(shown['p'])} [{pct(shown['low'])}, {pct(shown['high'])}]" in sentence
    assert f"of {RUNS} runs" in sentence


def field_html(page: str, key: str) -> str:
    m = re.search(rf'<p data-key="{re.escape(key)}"[^>]*>(.*?)</p>', page, re.S)
    assert m
    return m.group(1)


def test_ensemble_for_is_the_ensemble_of_the_same_scenario(ratified):
    r, result, _ = ratified
    ours = ensemble_for(result, r, RUNS, workers=1)
    theirs = Ensemble(Runner(r.data), RUNS, result.seed, 1).execute().result()
    for key in ("status", "outcome_class", "runs", "seed", "scenario"):
        assert ours[key] == theirs[key]


# --------------------------------------------------------------------------- contents


def test_map_and_charts_are_embedded(baseline, ratified):
    for _, _, page in (baseline, ratified):
        srcs = images(page)
        assert len(srcs) == 4  # map, utility space, meetings, ensemble
        for key in ("map", "utility", "meetings", "ensemble"):
            assert f'data-key="img.{key}"' in page
        assert "no-map" not in page


def test_without_the_islands_there_is_no_map_and_no_reality_section(strait):
    _, result, page = strait
    assert len(images(page)) == 3
    assert 'data-key="no-map"' in page and 'data-key="img.map"' not in page
    assert "What happened in reality" not in page
    assert field(page, "outcome_class") == result.outcome_class


def test_without_an_ensemble_there_is_no_ensemble_chart(ratified):
    r, result, _ = ratified
    page = report_html(result, r, ensemble_runs=0)
    assert len(images(page)) == 3 and 'data-key="img.ensemble"' not in page
    assert "Ensemble not run" in page


@pytest.mark.parametrize("which", ["baseline", "ratified"])
def test_what_happened_in_reality(which, request):
    _, _, page = request.getfixturevalue(which)
    assert field(page, "reality") == "What happened in reality"
    text = html.unescape(page)
    assert REALITY_SUMMARY in text
    for when, what in REALITY_EVENTS:
        assert when in text and what in text
    for fact in ("Osaka", "Vladivostok", "77.9%", "August 2020", "March 2022"):
        assert fact in text


def test_a_dict_result_gives_the_same_report(ratified):
    r, result, page = ratified
    again = report_html(result.model_dump(mode="json"), r, ensemble_runs=RUNS)
    assert again == page


def test_a_run_without_publics_is_reported_as_such():
    r = resolve("baseline")
    result = Runner(r.data, publics=False).run(3)
    page = report_html(result, r, ensemble_runs=0)
    assert "--no-publics" in page
    assert field(page, "outcome_class") == result.outcome_class


# --------------------------------------------------------------------------- scenario checks


def test_sha256_mismatch_raises(ratified):
    _, result, _ = ratified
    with pytest.raises(ValueError, match="sha256"):
        report_html(result, ensemble_runs=0)  # resolved by name: no --set, another sha256
    with pytest.raises(ValueError, match="sha256"):
        report_html(result, resolve("hardline"), ensemble_runs=0)


def test_unknown_scenario_and_ensemble_result_raise(ratified):
    _, result, _ = ratified
    data = result.model_dump(mode="json")
    data["scenario"]["name"] = "no_such_scenario"
    with pytest.raises(ValueError, match="no_such_scenario"):
        report_html(data, ensemble_runs=0)
    with pytest.raises(ValueError, match="EnsembleResult"):
        report_html({"runs": 5, "status": {"ratified": {}}}, ensemble_runs=0)


# --------------------------------------------------------------------------- writing


def test_write_report_writes_the_complete_page(tmp_path, ratified):
    r, result, page = ratified
    target = tmp_path / "out" / "report.html"
    assert write_report(result, target, resolved=r, ensemble_runs=RUNS) == target
    assert target.read_text(encoding="utf-8") == page
    assert os.listdir(target.parent) == ["report.html"]  # no temporary file left behind


def test_write_report_is_atomic(tmp_path, monkeypatch, ratified):
    r, result, _ = ratified
    fresh = tmp_path / "fresh.html"
    old = tmp_path / "old.html"
    old.write_text("previous report", encoding="utf-8")

    def fail(fd):  # the page is in the temporary file, but the disk "fails" before the move
        raise OSError("disk full")

    monkeypatch.setattr("sim.io.os.fsync", fail)
    for target in (fresh, old):
        with pytest.raises(OSError, match="disk full"):
            write_report(result, target, resolved=r, ensemble_runs=0)
    monkeypatch.undo()
    assert not fresh.exists()
    assert old.read_text(encoding="utf-8") == "previous report"
    assert sorted(os.listdir(tmp_path)) == ["old.html"]
    # A report that cannot be built never touches the target either.
    with pytest.raises(ValueError):
        write_report(result, fresh, ensemble_runs=0)
    assert not fresh.exists()


# --------------------------------------------------------------------------- in a browser


def test_report_renders_in_chromium_offline(tmp_path, ratified):
    if not CHROMIUM.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("/usr/bin/chromium is missing")
        pytest.skip("no /usr/bin/chromium")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    _, _, page_html = ratified
    path = tmp_path / "report.html"
    path.write_text(page_html, encoding="utf-8")
    requests: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                    headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda req: requests.append(req.url))
            page.goto(path.as_uri())
            page.wait_for_load_state("load")
            sizes = page.evaluate(
                "[...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
            headings = page.locator("h2").all_inner_texts()
            page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        finally:
            browser.close()
    assert len(sizes) == 4 and all(ok and w > 300 and h > 200 for ok, w, h in sizes)
    assert "What happened in reality" in headings
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    assert (tmp_path / "report.png").stat().st_size > 50_000
