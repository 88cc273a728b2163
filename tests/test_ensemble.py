"""Ensembles: seeds, uncertain parameters, failures, intervals, interruption."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim.ensemble import Ensemble, run_seed, wilson
from sim.loading import resolve
from sim.provenance import unsourced
from sim.runner import Runner
from sim.uncertainty import Distribution, uncertain_parameters

STRAIT = str(Path(__file__).parent / "fixtures" / "strait.yaml")


def child(tmp_path, text: str) -> str:
    path = tmp_path / "child.yaml"
    path.write_text(f"extends: {STRAIT}\nname: child\n{text}", encoding="utf-8")
    return str(path)


def strip(rows):
    return [{k: v for k, v in r.items() if k != "elapsed_ms"} for r in rows]


UNCERTAIN = """parties:
  b:
    leader:
      approval: {dist: uniform, low: 0.3, high: 0.9, source: assumption}
protocol:
  ratification: {b: {dist: truncnormal, mean: 0.6, sd: 0.08, low: 0.4, high: 0.75}}
"""


# --------------------------------------------------------------------------- seeds


def test_run_seeds_depend_only_on_master_and_index():
    seeds = [run_seed(3, i) for i in range(1000)]
    assert len(set(seeds)) == 1000
    assert seeds[:5] == [run_seed(3, i) for i in range(5)]
    assert run_seed(3, 0) != run_seed(4, 0)
    assert all(0 <= s < 2**63 for s in seeds)


def test_results_do_not_depend_on_worker_count(tmp_path):
    runner = Runner(resolve(child(tmp_path, UNCERTAIN)).data)
    one = Ensemble(runner, 60, seed=5, workers=1).execute()
    two = Ensemble(runner, 60, seed=5, workers=2).execute()
    assert strip(one.rows) == strip(two.rows)
    a, b = one.result(), two.result()
    for key in ("status", "outcome_class", "agreement", "rounds_to_agreement", "at_agreement"):
        assert a[key] == b[key]


def test_an_ensemble_member_is_reproduced_by_a_single_run(tmp_path):
    runner = Runner(resolve(child(tmp_path, UNCERTAIN)).data)
    ens = Ensemble(runner, 12, seed=9, workers=1).execute()
    for row in ens.rows:
        single = runner.run(row["seed"])
        assert single.status == row["status"]
        assert single.parameters == row["parameters"]
        assert single.outcome_class == row["outcome_class"]


# --------------------------------------------------------------------------- uncertainty


def test_uncertain_parameters_are_drawn_per_run_within_bounds(tmp_path):
    runner = Runner(resolve(child(tmp_path, UNCERTAIN)).data)
    assert [p.name for p in runner.params] == ["parties.b.leader.approval",
                                               "protocol.ratification.b"]
    rows = Ensemble(runner, 200, seed=1, workers=1).execute().rows
    approvals = np.array([r["parameters"]["parties.b.leader.approval"] for r in rows])
    thresholds = np.array([r["parameters"]["protocol.ratification.b"] for r in rows])
    assert approvals.min() >= 0.3 and approvals.max() <= 0.9
    assert thresholds.min() >= 0.4 and thresholds.max() <= 0.75
    assert approvals.std() > 0.1  # really drawn, not fixed
    assert abs(approvals.mean() - 0.6) < 0.05
    # The threshold matters: runs that drew a high bar agree less often.
    agreed = np.array([r["status"] != "no_agreement" for r in rows])
    assert agreed[thresholds < 0.55].mean() > agreed[thresholds > 0.68].mean()


def test_nominal_scenario_uses_central_values_and_keeps_sources(tmp_path):
    r = resolve(child(tmp_path, UNCERTAIN))
    assert r.scenario.parties["b"].leader.approval == pytest.approx(0.6)
    assert r.scenario.protocol.ratification["b"] == pytest.approx(0.6)
    assert unsourced(r.data) == []  # distribution parameters inherit or carry sources


@pytest.mark.parametrize(("spec", "centre"), [
    ({"dist": "normal", "mean": 1.0, "sd": 0.5}, 1.0),
    ({"dist": "truncnormal", "mean": 0.5, "sd": 1.0, "low": 0.0, "high": 2.0}, 0.5),
    ({"dist": "beta", "a": 2, "b": 6, "low": 0, "high": 2}, 0.5),
    ({"dist": "uniform", "low": 2, "high": 4}, 3.0),
    ({"dist": "triangular", "low": 0, "mode": 1, "high": 4}, 1.0),
])
def test_distributions(spec, centre):
    d = Distribution.model_validate(spec)
    assert d.central == pytest.approx(centre)
    rng = np.random.default_rng(0)
    xs = np.array([d.draw(rng) for _ in range(4000)])
    lo, hi = d.bounds()  # for an unbounded normal: mean +- 3 sd, which draws may exceed
    inside = ((xs >= lo - 1e-12) & (xs <= hi + 1e-12)).mean()
    assert inside == 1.0 if spec["dist"] != "normal" else inside > 0.99
    expected = {"normal": 1.0, "truncnormal": None, "beta": 0.5, "uniform": 3.0,
                "triangular": 5 / 3}[spec["dist"]]
    if expected is not None:
        assert xs.mean() == pytest.approx(expected, abs=0.05)


@pytest.mark.parametrize("spec", [
    {"dist": "normal", "mean": 1.0},
    {"dist": "uniform", "low": 3, "high": 1},
    {"dist": "triangular", "low": 0, "mode": 5, "high": 4},
    {"dist": "cauchy", "mean": 0, "sd": 1},
])
def test_bad_distributions_are_rejected_with_the_field(tmp_path, spec):
    from sim.loading import ScenarioError

    inline = "{" + ", ".join(f"{k}: {v}" for k, v in spec.items()) + "}"
    path = child(tmp_path, f"parties:\n  b:\n    leader:\n      approval: {inline}\n")
    with pytest.raises(ScenarioError) as e:
        resolve(path)
    assert any(p.path.startswith("parties.b.leader.approval") for p in e.value.problems)


# --------------------------------------------------------------------------- failures


def test_a_failing_run_is_recorded_and_the_ensemble_completes(tmp_path):
    # Some draws put the approval outside [0, 1]: those runs fail validation.
    path = child(tmp_path, "parties:\n  b:\n    leader:\n      approval: "
                           "{dist: uniform, low: 0.5, high: 1.5, source: assumption}\n")
    runner = Runner(resolve(path).data)
    for workers in (1, 2):
        ens = Ensemble(runner, 40, seed=2, workers=workers).execute()
        result = ens.result()
        failed = [r for r in ens.rows if r["status"] == "failed"]
        assert len(ens.rows) == 40 and 0 < len(failed) < 40
        assert result["failed_runs"] == len(failed)
        assert all("approval" in r["error"] for r in failed)
        assert {f["seed"] for f in result["failed"]} == {r["seed"] for r in failed}
        total = sum(s["count"] for s in result["status"].values())
        assert total == 40 - len(failed)


# --------------------------------------------------------------------------- intervals


@pytest.mark.parametrize(("k", "n", "low", "high"), [
    # Reference values of the Wilson score interval (z = 1.96), e.g. Newcombe (1998), Table I.
    (0, 10, 0.0, 0.2775),
    (5, 10, 0.2366, 0.7634),
    (10, 10, 0.7225, 1.0),
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
])
def test_wilson_interval(k, n, low, high):
    lo, hi = wilson(k, n)
    assert lo == pytest.approx(low, abs=1e-4)
    assert hi == pytest.approx(high, abs=1e-4)


def test_summary_probabilities_add_up_and_intervals_contain_them(tmp_path):
    runner = Runner(resolve(child(tmp_path, UNCERTAIN)).data)
    result = Ensemble(runner, 80, seed=4, workers=1).execute().result()
    assert sum(s["count"] for s in result["status"].values()) == 80
    assert sum(s["count"] for s in result["outcome_class"].values()) == 80
    for block in (result["status"], result["outcome_class"]):
        for s in block.values():
            assert s["low"] <= s["p"] <= s["high"]
    signed = 80 - result["status"]["no_agreement"]["count"]
    assert result["agreement"]["count"] == signed
    if signed:
        assert sum(result["rounds_to_agreement"]["histogram"].values()) == signed


# --------------------------------------------------------------------------- interruption


class Stop(KeyboardInterrupt):
    """A Ctrl-C raised from inside the progress callback."""


@pytest.mark.parametrize("workers", [1, 2])
def test_interrupt_keeps_finished_runs(tmp_path, workers):
    runner = Runner(resolve(child(tmp_path, UNCERTAIN)).data)
    seen = []

    def progress(n):
        seen.append(n)
        if sum(seen) >= 20:
            raise Stop

    ens = Ensemble(runner, 2000, seed=1, workers=workers).execute(progress)
    assert ens.interrupted
    assert 20 <= len(ens.rows) < 2000
    assert [r["index"] for r in ens.rows] == sorted(r["index"] for r in ens.rows)
    # What was kept is exactly what an uninterrupted ensemble gives for those runs.
    again = [runner.row(r["index"], run_seed(1, r["index"])) for r in ens.rows]
    assert strip(ens.rows) == strip(again)


def test_uncertain_parameters_in_file_order():
    data = {"a": {"dist": "uniform", "low": 0, "high": 1},
            "b": [{"x": {"dist": "normal", "mean": 0, "sd": 1}}]}
    assert [p.name for p in uncertain_parameters(data)] == ["a", "b.0.x"]
