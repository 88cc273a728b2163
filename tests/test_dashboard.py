"""The dashboard through Streamlit's AppTest: every page renders, controls change results, bad
uploads get field-level messages, and the downloaded scenario reproduces the CLI's result."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from sim.cli import app as cli
from sim.loading import dump_resolved, resolve

APP = str(Path(__file__).parents[1] / "dashboard" / "app.py")
PAGES = ["views/single_run.py", "views/ensemble.py", "views/sweep.py", "views/theory.py",
         "views/about.py"]


@pytest.fixture
def at():
    test = AppTest.from_file(APP, default_timeout=90)
    test.run()
    assert not test.exception
    return test


def reason(test: AppTest) -> str:
    texts = [m.value for m in test.markdown if "negsim-reason" in m.value]
    assert texts, "the single-run page shows no outcome sentence"
    return texts[0]


def test_scenario_page_has_a_control_per_parameter_with_sources(at):
    assert at.title[0].value == "Scenario"
    labels = [s.label for s in at.slider]
    assert "Vladimir Putin: approval" in labels and "Support needed to ratify" in labels
    putin = next(s for s in at.slider if s.label == "Vladimir Putin: approval")
    assert "levada_approval" in putin.help
    assert putin.value == pytest.approx(0.66)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_an_exception(at, page):
    at.switch_page(page)
    at.run()
    assert not at.exception
    assert not at.error


def test_a_control_change_changes_the_single_run(at):
    at.switch_page("views/single_run.py")
    at.run()
    before = reason(at)
    assert before.startswith('<p data-testid="negsim-reason">No agreement')
    at.session_state["russia.threshold"] = 0.2
    at.session_state["japan.threshold"] = 0.2
    at.session_state["seed"] = 5
    at.run()
    assert not at.exception
    after = reason(at)
    assert after != before and "signed a deal" in after


def test_reset_restores_the_scenario_values(at):
    putin = next(s for s in at.slider if s.label == "Vladimir Putin: approval")
    putin.set_value(0.9).run()
    assert next(s for s in at.slider if s.label == "Vladimir Putin: approval").value == 0.9
    next(b for b in at.button if "Reset" in b.label).click().run()
    value = next(s for s in at.slider if s.label == "Vladimir Putin: approval").value
    assert value == pytest.approx(0.66)


def test_a_bad_upload_shows_the_loader_messages_and_no_traceback(at):
    bad = "extends: baseline\nname: bad\nparties:\n  russia:\n    leader:\n      approval: high\n"
    at.session_state["uploaded_yaml"] = bad
    at.run()
    at.selectbox(key="scenario").select("(uploaded file)").run()
    assert not at.exception
    message = " ".join(e.value for e in at.error)
    assert "parties.russia.leader.approval" in message and "number" in message


def test_an_uploaded_scenario_runs(at):
    good = "extends: baseline\nname: uploaded\nprotocol:\n  ratification: {russia: 0.2}\n"
    at.session_state["uploaded_yaml"] = good
    at.run()
    at.selectbox(key="scenario").select("(uploaded file)").run()
    at.switch_page("views/single_run.py")
    at.run()
    assert not at.exception
    assert reason(at)


def test_downloaded_yaml_reproduces_the_dashboard_result(tmp_path):
    """What the Scenario page offers for download is dump_resolved of the edited scenario; the
    Single run page computes run_cached(that text, seed). `negsim run FILE --seed S --json`
    must give the same RunResult."""
    from dashboard.common import run_cached

    sets = ("protocol.ratification.russia=0.2", "parties.russia.leader.approval=0.8")
    text = dump_resolved(resolve("baseline", sets))
    path = tmp_path / "edited.yaml"
    path.write_text(text, encoding="utf-8")
    for seed in (0, 5):
        dashboard = run_cached(text, seed)
        r = CliRunner().invoke(cli, ["run", str(path), "--seed", str(seed), "--json"])
        assert r.exit_code == 0, r.stderr
        assert json.loads(r.stdout) == dashboard


def test_ensemble_page_runs_and_shows_probabilities(at):
    at.switch_page("views/ensemble.py")
    at.run()
    at.number_input(key="ens.runs").set_value(20)
    next(b for b in at.button if b.label == "Run the ensemble").click().run()
    assert not at.exception
    assert at.session_state["ensemble_result"]["completed"] == 20
    assert any(m.label == "P(ratified agreement)" for m in at.metric)


def test_a_shared_url_restores_the_parameters():
    test = AppTest.from_file(APP, default_timeout=90)
    test.query_params["russia.approval"] = "0.8"
    test.query_params["russia.threshold"] = "0.2"
    test.run()
    values = {s.key: s.value for s in test.slider}
    assert values["russia.approval"] == pytest.approx(0.8)
    assert values["russia.threshold"] == pytest.approx(0.2)
    # ... and the other pages use them: the run is the edited scenario's run.
    test.switch_page("views/single_run.py")
    test.run()
    from dashboard.common import run_cached

    text = dump_resolved(resolve("baseline", ("parties.russia.leader.approval=0.8",
                                              "protocol.ratification.russia=0.2")))
    expected = run_cached(text, 0)["reason"]
    assert expected in reason(test)


def _play(at: AppTest, side: str, *, accept_first: bool) -> dict:
    at.switch_page("views/play.py")
    at.run()
    at.radio(key="play.side").set_value(side).run()
    while not any(m.value.startswith('<p data-testid="negsim-reason">') for m in at.markdown):
        labels = [b.label for b in at.button]
        if "Accept" in labels:
            pick = "Accept" if accept_first else "Reject"
            next(b for b in at.button if b.label == pick).click().run()
        elif "Make no offer" in labels:
            next(b for b in at.button if b.label == "Make no offer").click().run()
        else:
            next(b for b in at.button if b.label == "Continue").click().run()
        assert not at.exception
    return at.session_state["game_result"]


@pytest.mark.parametrize(("side", "accept", "sets", "status"), [
    ("russia", True, {"russia.threshold": 0.1, "noise": 0.0}, "ratified"),
    ("japan", True, {"noise": 0.0}, "signed_not_ratified"),
    ("japan", False, {}, "no_agreement"),
])
def test_a_scripted_game_in_the_dashboard_equals_negsim_play(tmp_path, side, accept, sets,
                                                              status):
    test = AppTest.from_file(APP, default_timeout=90)
    for key, value in sets.items():
        test.query_params[key] = str(value)
    test.run()
    result = _play(test, side, accept_first=accept)
    assert result["status"] == status
    # The same moves fed to `negsim play` give the same RunResult.
    lines = []
    for move in result["player"]["moves"]:
        if "accept" in move:
            lines.append("accept" if move["accept"] else "reject")
        elif move.get("offer") is None:
            lines.append("pass")
    sets_args = []
    paths = {"russia.threshold": "protocol.ratification.russia",
             "noise": "protocol.ratification_noise"}
    for key, value in sets.items():
        sets_args += ["--set", f"{paths[key]}={value}"]
    r = CliRunner().invoke(cli, ["play", "baseline", "--as", side, *sets_args, "--json"],
                           input="\n".join(lines) + "\n")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout) == result
