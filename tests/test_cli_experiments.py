"""The experiment commands end to end: ensembles, sweeps, sensitivity (small and fast)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sim.cli import app

STRAIT = str(Path(__file__).parent / "fixtures" / "strait.yaml")
PNG = b"\x89PNG\r\n\x1a\n"


def invoke(*args, cwd=None):
    return CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_ensemble_summary_and_json():
    r = invoke("run", STRAIT, "--runs", 30, "--seed", 2, "--workers", 1)
    assert r.exit_code == 0, r.stderr
    assert "P(ratified agreement)" in r.stdout and "95%" in r.stdout
    j = invoke("run", STRAIT, "--runs", 30, "--seed", 2, "--workers", 1, "--json")
    result = json.loads(j.stdout)
    assert result["runs"] == result["completed"] == 30
    assert set(result["status"]) == {"ratified", "signed_not_ratified", "no_agreement"}
    p = result["status"]["ratified"]
    assert p["low"] <= p["p"] <= p["high"]
    assert f"{p['p']:.1%}" in r.stdout


def test_bad_backend_is_a_usage_error():
    r = invoke("run", STRAIT, "--runs", 3, "--backend", "cloud")
    assert r.exit_code == 2 and "backend" in r.stderr and "Traceback" not in r.stderr


def test_sweep_writes_table_and_png(tmp_path):
    prefix = tmp_path / "s"
    r = invoke("sweep", STRAIT, "--grid", "protocol.ratification.b=0.4:0.8:3",
               "--runs-per-point", 10, "--workers", 1, "--out", prefix)
    assert r.exit_code == 0, r.stderr
    lines = (tmp_path / "s.csv").read_text().splitlines()
    assert len(lines) == 1 + 3 and "p_ratified" in lines[0]
    assert (tmp_path / "s.png").read_bytes().startswith(PNG)
    assert "P(ratified)" in r.stdout


def test_sweep_bad_grid_names_the_field(tmp_path):
    r = invoke("sweep", STRAIT, "--grid", "protocol.ratifcation.b=0.4:0.8:3",
               "--out", tmp_path / "x")
    assert r.exit_code == 2
    assert "protocol.ratifcation" in r.stderr and "Traceback" not in r.stderr
    r = invoke("sweep", STRAIT, "--grid", "protocol.ratification.b=0.4:0.8", "--out",
               tmp_path / "x")
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    assert not (tmp_path / "x.csv").exists()


def test_sensitivity_writes_indices_and_chart(tmp_path):
    prefix = tmp_path / "m"
    r = invoke("sensitivity", STRAIT, "--method", "morris", "--samples", 4,
               "-p", "protocol.ratification.b=0.4:0.8", "-p", "parties.b.leader.approval=0.3:0.9",
               "--runs-per-sample", 3, "--workers", 1, "--out", prefix)
    assert r.exit_code == 0, r.stderr
    header, *rows = (tmp_path / "m.csv").read_text().splitlines()
    assert "mu_star" in header and len(rows) == 2 * 3  # 2 parameters x 3 outputs
    assert (tmp_path / "m.png").read_bytes().startswith(PNG)
    assert "mu_star" in r.stdout


def test_sensitivity_rejects_a_bad_method():
    r = invoke("sensitivity", STRAIT, "--method", "fast")
    assert r.exit_code == 2 and "sobol" in r.stderr


def test_history_and_export_round_trip_through_the_store(tmp_path):
    import csv

    store = tmp_path / "r.duckdb"
    r = invoke("run", STRAIT, "--runs", 12, "--seed", 4, "--workers", 1, "--json",
               "--store", store)
    eid = json.loads(r.stdout)["experiment_id"]
    h = invoke("history", "--store", store, "--json")
    [exp] = json.loads(h.stdout)
    assert exp["id"] == eid and exp["kind"] == "ensemble" and exp["runs"] == 12
    assert exp["scenario_name"] == "strait"
    for fmt in ("csv", "json", "parquet"):
        e = invoke("export", eid, "--format", fmt, "--out", tmp_path / f"x.{fmt}",
                   "--store", store)
        assert e.exit_code == 0, e.stderr
    with open(tmp_path / "x.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [int(row["index"]) for row in rows] == list(range(12))
    doc = json.loads((tmp_path / "x.json").read_text())
    assert [row["seed"] for row in doc["rows"]] == [int(row["seed"]) for row in rows]
    missing = invoke("export", eid + 99, "--store", store)
    assert missing.exit_code == 2 and "Traceback" not in missing.stderr


def test_sweep_is_stored(tmp_path):
    store = tmp_path / "r.duckdb"
    invoke("sweep", STRAIT, "--grid", "protocol.ratification.b=0.4:0.8:2",
           "--runs-per-point", 3, "--workers", 1, "--out", tmp_path / "s", "--store", store)
    [exp] = json.loads(invoke("history", "--store", store, "--json").stdout)
    assert exp["kind"] == "sweep" and exp["runs"] == 6
