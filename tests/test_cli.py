"""Tests for the ``negsim`` command line (sim.cli): listing, schema, show, validate, run, analyze,
error reporting without tracebacks (exit code 2), and the RunResult JSON of BRIEF §7."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import sim
from sim.cli import app
from sim.loading import bundled_dir, bundled_names, resolve
from sim.provenance import numbers
from sim.results import RunResult

DATA = Path(__file__).parent / "data"
runner = CliRunner()

RUN_KEYS = {"negsim_version", "scenario", "seed", "status", "reason", "round", "deal",
            "outcome_class", "utility", "support", "approval", "ratified", "analysis", "trace"}
TRACE_KEYS = {"round", "proposer", "offer", "utility", "support", "approval", "response"}
STATUSES = {"ratified", "signed_not_ratified", "no_agreement"}

BAD_FILES = [
    ("bad_wrong_type.yaml", "parties.russia.leader.approval"),
    ("bad_unknown_party.yaml", "events.0.effect.party"),
    ("bad_undefined_source.yaml", "parties.japan.leader.approval.source"),
]


def invoke(*args: str):
    return runner.invoke(app, list(args))


def squash(text: str) -> str:
    """Terminal output without line breaks, box borders or runs of spaces (rich wraps at 80
    columns when not writing to a terminal)."""
    text = re.sub(r"[│╭╮╰╯─┃]", " ", text)
    return " ".join(text.split())


def no_spaces(text: str) -> str:
    return "".join(text.split())


def assert_no_traceback(result) -> None:
    assert "Traceback" not in result.stdout
    assert "Traceback" not in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        repr(result.exception))


def negsim_script() -> str:
    here = Path(sys.executable).parent / "negsim"
    found = str(here) if here.exists() else shutil.which("negsim")
    assert found, "the negsim console script is not installed"
    return found


def assert_consistent(raw: dict) -> None:
    """The status, the deal, the round, the ratification and the trace agree with each other."""
    rounds = [t["round"] for t in raw["trace"]]
    if raw["status"] == "no_agreement":
        assert raw["deal"] is None and raw["round"] is None and raw["ratified"] is None
        assert all(t["response"] != "accept" for t in raw["trace"])
        assert raw["outcome_class"] == "status quo"
    else:
        assert raw["deal"] is not None and raw["round"] == rounds[-1]
        assert set(raw["deal"]) == set(resolve("baseline").scenario.agenda.issues)
        assert raw["trace"][-1]["response"] == "accept"
        assert all(t["response"] == "reject" for t in raw["trace"][:-1])
        assert set(raw["ratified"]) == {"japan", "russia"}
        assert all(raw["ratified"].values()) == (raw["status"] == "ratified")
        assert raw["outcome_class"] != "status quo"


@pytest.fixture(scope="module")
def json_seed_7() -> str:
    result = invoke("run", "baseline", "--seed", "7", "--json")
    assert result.exit_code == 0, result.stderr
    return result.stdout


# --------------------------------------------------------------------------- simple commands


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == "negsim 0.1.0"
    assert sim.__version__ == "0.1.0"


def test_scenarios_lists_the_bundled_names():
    result = invoke("scenarios")
    assert result.exit_code == 0, result.stderr
    for name in ("baseline", "two_island_1956", "hardline"):
        assert re.search(rf"\b{name}\b", result.stdout), name
    # Each variant's parent is shown too.
    assert re.search(r"hardline\s*│\s*baseline", result.stdout)


def test_schema_prints_json_schema():
    result = invoke("schema")
    assert result.exit_code == 0, result.stderr
    schema = json.loads(result.stdout)
    assert {"parties", "agenda"} <= set(schema["properties"])
    assert {"title", "description", "teaching_notes"} <= set(schema.get("required", []))


def test_show_lists_a_number_with_its_source_id():
    data = resolve("baseline").data
    support = next(n for n in numbers(data) if n.path == "parties.russia.public.polls.0.support")
    assert support.source == "levada_2018_11"
    result = invoke("show", "baseline")
    assert result.exit_code == 0, result.stderr
    value = re.escape(f"{support.value:g}")
    assert re.search(rf"│\s*{value}\s*│\s*levada_2018_11\b", result.stdout), (
        "no table row shows the poll's value next to its source id")
    assert "levada_approval" in result.stdout
    assert "Teaching notes" in result.stdout


@pytest.mark.parametrize("name", bundled_names())
def test_validate_a_bundled_scenario_file(name):
    path = bundled_dir() / f"{name}.yaml"
    result = invoke("validate", str(path))
    assert result.exit_code == 0, result.stderr
    assert re.search(rf"\bok\b.*\b{name}\b", squash(result.stdout))
    assert "warning" not in result.stderr  # every number has a source
    assert resolve(name).sha256[:12] in result.stdout


def test_validate_strict_fails_on_an_unsourced_number(tmp_path):
    path = tmp_path / "bare.yaml"
    path.write_text("extends: baseline\nparties:\n  japan:\n    capability: 2.0\n",
                    encoding="utf-8")
    lenient = invoke("validate", str(path))
    assert lenient.exit_code == 0
    assert "parties.japan.capability" in no_spaces(lenient.stderr)
    strict = invoke("validate", "--strict", str(path))
    assert strict.exit_code == 2
    assert_no_traceback(strict)


# --------------------------------------------------------------------------- errors: exit 2


@pytest.mark.parametrize("file, field", BAD_FILES)
def test_validate_bad_file_exits_2_naming_the_field(file, field):
    path = DATA / file
    result = invoke("validate", str(path))
    assert result.exit_code == 2
    assert_no_traceback(result)
    err = no_spaces(result.stderr)
    assert field in err
    assert file in err
    assert "error" in result.stderr
    assert "ok" not in result.stdout


def test_validate_reports_the_line():
    path = DATA / "bad_wrong_type.yaml"
    result = invoke("validate", str(path))
    assert "bad_wrong_type.yaml:6:parties.russia.leader.approval" in no_spaces(result.stderr)


@pytest.mark.parametrize("file, field", BAD_FILES)
def test_run_bad_file_exits_2(file, field):
    result = invoke("run", str(DATA / file), "--json")
    assert result.exit_code == 2
    assert_no_traceback(result)
    assert field in no_spaces(result.stderr)
    assert result.stdout == ""


@pytest.mark.parametrize("assignment, field", [
    ("parties.russia.leader.approval=abc", "parties.russia.leader.approval"),
    ("no.such.path=1", "no.such.path"),
])
def test_run_bad_set_exits_2_naming_the_path(assignment, field):
    result = invoke("run", "baseline", "--set", assignment)
    assert result.exit_code == 2
    assert_no_traceback(result)
    assert field in no_spaces(result.stderr)
    assert result.stdout == ""


def test_unknown_scenario_name_exits_2():
    result = invoke("run", "no_such_scenario")
    assert result.exit_code == 2
    assert_no_traceback(result)
    assert "no_such_scenario" in result.stderr


# --------------------------------------------------------------------------- run


def test_run_json_is_deterministic(json_seed_7):
    again = invoke("run", "baseline", "--seed", "7", "--json")
    assert again.exit_code == 0
    assert again.stdout == json_seed_7


def test_run_json_is_a_run_result_with_the_brief_keys(json_seed_7):
    result = RunResult.model_validate_json(json_seed_7)
    raw = json.loads(json_seed_7)
    assert set(raw) >= RUN_KEYS
    assert raw["negsim_version"] == sim.__version__
    assert raw["scenario"] == {"name": "baseline", "sha256": resolve("baseline").sha256}
    assert raw["seed"] == 7
    assert raw["status"] in STATUSES
    assert isinstance(raw["reason"], str) and raw["reason"].strip()
    assert raw["round"] is None or isinstance(raw["round"], int)
    assert isinstance(raw["outcome_class"], str) and raw["outcome_class"]
    parties = {"japan", "russia"}
    for key in ("utility", "support", "approval"):
        assert set(raw[key]) == parties, key
        assert all(isinstance(v, int | float) for v in raw[key].values())
    for key in ("support", "approval"):
        assert all(0 <= v <= 1 for v in raw[key].values()), key
    assert isinstance(raw["analysis"]["zopa_size"], int)
    assert raw["trace"], "a run records at least one meeting"
    rounds = [t["round"] for t in raw["trace"]]
    assert rounds == sorted(rounds) and rounds[0] == 1
    assert rounds[-1] <= resolve("baseline").scenario.protocol.rounds
    for entry in raw["trace"]:
        assert set(entry) >= TRACE_KEYS
        assert entry["proposer"] in parties
        assert entry["response"] in {"accept", "reject"}
    assert_consistent(raw)
    assert result.seed == 7


LOW_BAR = ["--set", "protocol.ratification.russia=0.2", "--set", "protocol.ratification.japan=0.2",
           "--set", "parties.russia.leader.approval=0.9"]


@pytest.mark.parametrize("seed", [1, 3])
def test_run_json_of_a_signed_deal_is_consistent(seed):
    """With low ratification bars the leaders sign: the agreement branch of the RunResult."""
    result = invoke("run", "baseline", "--seed", str(seed), "--json", *LOW_BAR)
    assert result.exit_code == 0, result.stderr
    RunResult.model_validate_json(result.stdout)
    raw = json.loads(result.stdout)
    assert raw["status"] in {"ratified", "signed_not_ratified"}
    assert_consistent(raw)
    if raw["status"] == "signed_not_ratified":
        assert "ratification failed" in raw["reason"]
    else:
        assert "ratified" in raw["reason"]


def test_run_records_the_seed_it_was_given(json_seed_7):
    other = invoke("run", "baseline", "--seed", "8", "--json")
    assert other.exit_code == 0
    raw = json.loads(other.stdout)
    assert raw["seed"] == 8
    # Different seeds may differ; both runs are of the same resolved scenario.
    assert raw["scenario"] == json.loads(json_seed_7)["scenario"]


def test_run_set_changes_the_scenario_hash():
    result = invoke("run", "baseline", "--seed", "7", "--json",
                    "--set", "parties.russia.leader.approval=0.8")
    assert result.exit_code == 0, result.stderr
    raw = json.loads(result.stdout)
    expected = resolve("baseline", ["parties.russia.leader.approval=0.8"]).sha256
    assert raw["scenario"]["sha256"] == expected != resolve("baseline").sha256


def test_run_out_writes_the_json_of_the_same_seed(tmp_path):
    out = tmp_path / "results" / "run.json"
    plain = invoke("run", "baseline", "--seed", "3", "--out", str(out))
    assert plain.exit_code == 0, plain.stderr
    as_json = invoke("run", "baseline", "--seed", "3", "--json")
    assert as_json.exit_code == 0
    assert out.read_text(encoding="utf-8") == as_json.stdout
    assert RunResult.model_validate_json(out.read_text(encoding="utf-8")).seed == 3
    assert not [p for p in out.parent.iterdir() if p != out], "temporary files left behind"


def test_run_plain_shows_status_and_reason():
    result = invoke("run", "baseline", "--seed", "3")
    assert result.exit_code == 0, result.stderr
    res = RunResult.model_validate_json(invoke("run", "baseline", "--seed", "3", "--json").stdout)
    text = squash(result.stdout)
    assert res.status in text or res.status.replace("_", " ") in text
    assert " ".join(res.reason.split()) in text


# --------------------------------------------------------------------------- analyze


def test_analyze_mentions_win_sets_and_zopa():
    result = invoke("analyze", "baseline")
    assert result.exit_code == 0, result.stderr
    text = squash(result.stdout)
    assert "win-set" in text
    assert "ZOPA" in text


def test_analyze_json_has_zopa_and_winset_sizes(json_seed_7):
    result = invoke("analyze", "baseline", "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    zopa = report["zopa_size"]
    winsets = report["winset_size"]
    assert isinstance(zopa, int) and zopa >= 0
    assert set(winsets) == {"japan", "russia"}
    assert all(isinstance(v, int) and v >= 0 for v in winsets.values())
    # The ZOPA lies inside both win-sets, which lie inside the outcome space.
    assert zopa <= min(winsets.values())
    assert max(winsets.values()) <= report["outcome_space_size"]
    # The run reports the same round-0 analysis.
    assert json.loads(json_seed_7)["analysis"]["zopa_size"] == zopa


def test_analyze_set_can_change_the_analysis():
    lowered = invoke("analyze", "baseline", "--json", "--set", "protocol.ratification.japan=0.01",
                     "--set", "protocol.ratification.russia=0.01")
    assert lowered.exit_code == 0, lowered.stderr
    base = json.loads(invoke("analyze", "baseline", "--json").stdout)
    low = json.loads(lowered.stdout)
    for party in ("japan", "russia"):
        assert low["winset_size"][party] >= base["winset_size"][party]
    assert sum(low["winset_size"].values()) > sum(base["winset_size"].values())


# --------------------------------------------------------------------------- real processes


def test_console_script_runs(tmp_path, json_seed_7):
    done = subprocess.run([negsim_script(), "run", "baseline", "--seed", "1", "--json"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    result = RunResult.model_validate_json(done.stdout)
    assert result.seed == 1
    # Same output as in-process: the result does not depend on the process (hash seeds etc.).
    assert done.stdout == invoke("run", "baseline", "--seed", "1", "--json").stdout


def test_console_script_reports_a_bad_file_without_traceback(tmp_path):
    done = subprocess.run([negsim_script(), "validate", str(DATA / "bad_unknown_party.yaml")],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stdout + done.stderr
    assert "events.0.effect.party" in no_spaces(done.stderr)


def test_python_dash_m_sim_cli_version(tmp_path):
    done = subprocess.run([sys.executable, "-m", "sim.cli", "--version"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "negsim 0.1.0"
