"""The DuckDB results store: lossless round trips, atomic exports, concurrent writers."""

from __future__ import annotations

import json
import math
import multiprocessing
import threading
import time
from pathlib import Path

import duckdb
import pandas as pd
import pytest

import sim.store as store_mod
from sim.store import (
    ExperimentNotFound,
    Store,
    StoreBusyError,
    default_store_path,
    flat_table,
)

PARTIES = ("japan", "russia")
SCENARIO_TEXT = "name: strait\ntitle: Test scenario\nparties:\n  japan: {}\n  russia: {}\n"


def make_rows(n: int = 12, tag: int = 0) -> list[dict]:
    """Rows shaped like ``Runner.row``: two parties, None values, nested parameters, failed
    runs that lack most fields, and (every third) a sweep ``point``."""
    rows = []
    for i in range(n):
        seed = (2**62 + 7919 * i + tag) if i % 2 else 1000 + i + tag
        if i % 5 == 4:  # a failed run, as Runner.row records it
            rows.append({"index": i, "seed": seed, "status": "failed",
                         "error": f"ValueError: boom {i}", "parameters": {},
                         "elapsed_ms": 0.125 + i})
            continue
        signed = i % 3 != 0
        row = {"index": i, "seed": seed,
               "status": "ratified" if signed else "no_agreement",
               "outcome_class": "1956 formula" if signed else "status quo",
               "round": i + 1 if signed else None, "meetings": 10 + i,
               "deal": 37 * i + tag if signed else None}
        for p in PARTIES:
            row[f"utility_{p}"] = 0.1 + i / 7 + (0.3 if p == "russia" else 0.0)
            row[f"approval_{p}"] = 0.45 + i / 1000
            row[f"support_{p}"] = (0.2 + i / 100) if signed else None
            row[f"ratified_{p}"] = (p == "japan" or i % 2 == 0) if signed else None
        row["parameters"] = {"parties.japan.leader.approval": 0.3 + i / 50,
                             "protocol.ratification.russia": 0.5 + tag / 1000}
        if i % 3 == 2:
            row["point"] = {"parties.russia.leader.concession": 0.25 * i, "label": f"p{i}"}
        row["error"] = None
        row["elapsed_ms"] = 1.5 + i / 3
        rows.append(row)
    return rows


def save(store: Store, rows: list[dict], kind: str = "ensemble", **extra) -> int:
    args = dict(scenario_name="strait", scenario_sha256="ab" * 32, scenario_text=SCENARIO_TEXT,
                negsim_version="0.1.0", seed=5, settings={"runs": len(rows), "workers": 2},
                summary={"runs": len(rows), "agreement": {"p": 0.5, "low": 0.2, "high": 0.8},
                         "rounds_to_agreement": None},
                rows=rows, started=time.time() - 2.0, elapsed_s=1.75)
    args.update(extra)
    return store.save(kind, **args)


@pytest.fixture
def store(tmp_path) -> Store:
    return Store(tmp_path / "results.duckdb")


# --------------------------------------------------------------------------- round trip


def test_round_trip(store):
    rows = make_rows()
    with store:
        exp_id = save(store, rows)
        listed = store.experiments()
        assert [e["id"] for e in listed] == [exp_id]
        e = listed[0]
        assert e["kind"] == "ensemble" and e["runs"] == len(rows) and e["seed"] == 5
        assert e["scenario_name"] == "strait" and e["scenario_sha256"] == "ab" * 32
        assert e["negsim_version"] == "0.1.0" and e["elapsed_s"] == 1.75
        assert e["created"].endswith("+00:00")
        assert store.rows(exp_id) == rows
        meta = store.experiment(exp_id)
        assert meta["scenario_text"] == SCENARIO_TEXT
        assert meta["summary"]["agreement"] == {"p": 0.5, "low": 0.2, "high": 0.8}
        assert meta["settings"] == {"runs": len(rows), "workers": 2}
        assert meta["started"] is not None


def test_rows_come_back_in_index_order_and_newest_experiment_first(store):
    rows = make_rows(6)
    first = save(store, list(reversed(rows)))
    second = save(store, make_rows(3, tag=1), kind="sweep", seed=None)
    assert store.rows(first) == rows
    assert [e["id"] for e in store.experiments()] == [second, first]
    assert store.experiments()[0]["seed"] is None
    assert store.experiments(limit=1)[0]["id"] == second


def test_odd_values_survive(store):
    rows = [
        {"index": 0, "seed": 2**70, "round": 2.0, "elapsed_ms": float("nan"),
         "deal": "k=3", "tags": ["a", "b"], "utility_japan": float("inf")},
        {"index": 1, "status": None, "error": "", "extra": {"nested": {"deep": [1, None]}}},
        {},
    ]
    got = store.rows(save(store, rows))
    assert math.isnan(got[0]["elapsed_ms"]) and got[0]["utility_japan"] == math.inf
    assert {k: v for k, v in got[0].items() if k != "elapsed_ms"} == {
        k: v for k, v in rows[0].items() if k != "elapsed_ms"}
    assert type(got[0]["round"]) is float
    assert got[1:] == rows[1:]


def test_real_ensemble_rows_round_trip(tmp_path, store):
    from sim.ensemble import Ensemble
    from sim.loading import dump_resolved, resolve
    from sim.runner import Runner

    scenario = tmp_path / "child.yaml"
    fixture = Path(__file__).parent / "fixtures" / "strait.yaml"
    scenario.write_text(
        f"extends: {fixture}\nname: child\nparties:\n  b:\n    leader:\n"
        f"      approval: {{dist: uniform, low: 0.3, high: 0.9, source: assumption}}\n",
        encoding="utf-8")
    resolved = resolve(str(scenario))
    e = Ensemble(Runner(resolved.data), 15, seed=3).execute()
    summary = e.result()
    exp_id = store.save("ensemble", scenario_name=resolved.scenario.name,
                        scenario_sha256=resolved.sha256, scenario_text=dump_resolved(resolved),
                        negsim_version=summary["negsim_version"], seed=e.seed,
                        settings={"runs": 15, "workers": 1}, summary=summary, rows=e.rows,
                        elapsed_s=e.elapsed_s)
    assert store.rows(exp_id) == e.rows
    assert store.experiment(exp_id)["summary"] == json.loads(json.dumps(summary))
    out = store.export(exp_id, tmp_path / "e.parquet", "parquet")
    assert len(duckdb.sql(f"SELECT * FROM read_parquet('{out}')").fetchall()) == 15


def test_a_save_is_all_or_nothing(store):
    keep = save(store, make_rows(3))
    with pytest.raises(TypeError):
        save(store, [*make_rows(3), {"index": 9, "bad": object()}])
    assert [e["id"] for e in store.experiments()] == [keep]


def test_save_validates_kind(store):
    with pytest.raises(ValueError, match="kind"):
        save(store, make_rows(2), kind="bogus")


def test_schema_version_is_recorded(store):
    save(store, make_rows(1))
    with duckdb.connect(str(store.path), read_only=True) as con:
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'"
                           ).fetchone() == (str(store_mod.SCHEMA_VERSION),)
    with duckdb.connect(str(store.path)) as con:
        con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(store_mod.StoreError, match="schema version 99"):
        store.experiments()


# --------------------------------------------------------------------------- missing things


def test_missing_id_raises_key_error(store, tmp_path):
    with pytest.raises(KeyError, match="no experiment with id 42"):
        store.experiment(42)  # no store file yet
    assert not store.path.exists()  # reading does not create the file
    assert store.experiments() == []
    save(store, make_rows(2))
    for call in (store.experiment, store.rows, lambda i: store.export(i, tmp_path, "csv")):
        with pytest.raises(KeyError) as info:
            call(42)
        assert isinstance(info.value, ExperimentNotFound)
        assert "42" in str(info.value) and str(store.path) in str(info.value)
    with pytest.raises(KeyError, match="not an experiment id"):
        store.rows("abc")


def test_env_var_names_the_store(tmp_path, monkeypatch):
    monkeypatch.delenv("NEGSIM_STORE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_store_path() == Path("negsim-results.duckdb")
    assert Store().path == tmp_path / "negsim-results.duckdb"
    target = tmp_path / "elsewhere" / "mine.duckdb"
    target.parent.mkdir()
    monkeypatch.setenv("NEGSIM_STORE", str(target))
    assert default_store_path() == target
    exp_id = save(Store(), make_rows(2))
    assert target.exists() and not (tmp_path / "negsim-results.duckdb").exists()
    assert Store(target).rows(exp_id) == make_rows(2)


# --------------------------------------------------------------------------- export


def flat(rows: list[dict]) -> list[dict]:
    """What a flattened export should hold for each row (dict fields as dotted columns)."""
    out = []
    for r in rows:
        f = {}
        for k, v in r.items():
            if isinstance(v, dict):
                f.update({f"{k}.{kk}": vv for kk, vv in v.items()})
            else:
                f[k] = v
        out.append(f)
    return out


def same(expected, got) -> bool:
    if expected is None:
        return got is None or (isinstance(got, float) and math.isnan(got)) or got is pd.NA
    if isinstance(expected, bool):
        return bool(got) is expected
    if isinstance(expected, (int, float)):
        return float(got) == float(expected)
    return str(got) == str(expected)


def assert_table_matches(rows: list[dict], records: list[dict], columns: list[str]):
    expected = flat(rows)
    names = {k for f in expected for k in f}
    assert names == set(columns)
    assert len(records) == len(expected)
    for exp, got in zip(expected, records, strict=True):
        for name in columns:
            assert same(exp.get(name), got[name]), (name, exp.get(name), got[name])


def test_export_csv(store, tmp_path):
    rows = make_rows()
    out = store.export(save(store, rows), tmp_path / "out" / "runs.csv", "csv")
    assert out == tmp_path / "out" / "runs.csv"
    df = pd.read_csv(out)
    assert list(df.columns[:9]) == list(store_mod.FIXED)
    assert "parameters.parties.japan.leader.approval" in df.columns
    assert "point.label" in df.columns
    assert_table_matches(rows, df.to_dict("records"), list(df.columns))
    assert df["seed"].tolist() == [r["seed"] for r in rows]  # 63-bit seeds stay exact


def test_export_parquet(store, tmp_path):
    rows = make_rows()
    out = store.export(save(store, rows), tmp_path / "runs.parquet", "parquet")
    rel = duckdb.sql(f"SELECT * FROM read_parquet('{out}')")
    types = dict(zip(rel.columns, map(str, rel.types), strict=True))
    assert types["seed"] == "BIGINT" and types["round"] == "BIGINT"
    assert types["ratified_japan"] == "BOOLEAN" and types["utility_russia"] == "DOUBLE"
    records = [dict(zip(rel.columns, r, strict=True)) for r in rel.fetchall()]
    assert_table_matches(rows, records, rel.columns)
    assert [r["seed"] for r in records] == [r["seed"] for r in rows]
    assert [r["support_japan"] for r in records] == [r.get("support_japan") for r in rows]


def test_export_parquet_keeps_nan_and_mixed_columns(store, tmp_path):
    rows = [{"index": 0, "x": float("nan"), "m": "a", "l": [1, 2]},
            {"index": 1, "x": None, "m": 2.5, "l": None}]
    out = store.export(save(store, rows), tmp_path / "odd.parquet", "parquet")
    got = duckdb.sql(f"SELECT * FROM read_parquet('{out}') ORDER BY index").fetchall()
    assert math.isnan(got[0][1]) and got[1][1] is None
    assert [json.loads(r[2]) for r in got] == ["a", 2.5]
    assert json.loads(got[0][3]) == [1, 2] and got[1][3] is None


def test_export_json(store, tmp_path):
    rows = make_rows()
    exp_id = save(store, rows)
    out = store.export(exp_id, tmp_path, "json")  # a directory: a default file name in it
    assert out == tmp_path / f"negsim-experiment-{exp_id}.json"
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["rows"] == rows
    assert doc["experiment"]["id"] == exp_id
    assert doc["experiment"]["scenario_text"] == SCENARIO_TEXT
    assert doc["experiment"] == json.loads(json.dumps(store.experiment(exp_id)))


def test_export_of_an_experiment_without_rows(store, tmp_path):
    exp_id = save(store, [])
    assert store.rows(exp_id) == []
    for fmt in ("csv", "parquet", "json"):
        assert store.export(exp_id, tmp_path / f"empty.{fmt}", fmt).exists()
    empty = tmp_path / "empty.parquet"
    assert duckdb.sql(f"SELECT count(*) FROM '{empty}'").fetchall() == [(0,)]


def test_export_rejects_unknown_format(store, tmp_path):
    with pytest.raises(ValueError, match="format"):
        store.export(save(store, make_rows(1)), tmp_path / "x.xlsx", "xlsx")


def _half_then_fail(kind):
    original = {"csv": store_mod._write_csv, "parquet": store_mod._write_parquet,
                "json": store_mod._write_json}[kind]

    def writer(data, tmp):
        original(data, tmp)  # the temporary file is written (partly, as far as we know) ...
        with open(tmp, "r+b") as f:
            f.truncate(max(1, tmp.stat().st_size // 2))
        raise OSError("disk full")  # ... and then the writing fails

    return writer


@pytest.mark.parametrize("fmt", ["csv", "parquet", "json"])
def test_failed_export_leaves_no_file(store, tmp_path, monkeypatch, fmt):
    exp_id = save(store, make_rows())
    out_dir = tmp_path / "exports"
    out_dir.mkdir()
    monkeypatch.setattr(store_mod, f"_write_{fmt}", _half_then_fail(fmt))
    with pytest.raises(OSError, match="disk full"):
        store.export(exp_id, out_dir / f"runs.{fmt}", fmt)
    assert list(out_dir.iterdir()) == []  # neither the target nor a temporary file

    # An existing target is left as it was.
    old = out_dir / f"runs.{fmt}"
    old.write_text("previous export", encoding="utf-8")
    with pytest.raises(OSError, match="disk full"):
        store.export(exp_id, old, fmt)
    assert list(out_dir.iterdir()) == [old]
    assert old.read_text(encoding="utf-8") == "previous export"

    monkeypatch.undo()
    store.export(exp_id, old, fmt)
    assert old.read_text(encoding="utf-8", errors="replace") != "previous export"
    assert list(out_dir.iterdir()) == [old]


def test_flat_table_column_types():
    table = {name: (t, v) for name, t, v in flat_table(make_rows())}
    assert table["index"][0] == "BIGINT" and table["status"][0] == "VARCHAR"
    assert table["ratified_russia"][0] == "BOOLEAN"
    assert table["parameters.protocol.ratification.russia"][0] == "DOUBLE"
    assert table["point.label"][0] == "VARCHAR"
    assert table["outcome_class"][1][4] is None  # a failed run has no outcome class


# --------------------------------------------------------------------------- concurrency

WRITERS = 4
PER_WRITER = 4
ROWS = 40


def _writer(path: str, worker: int, start, out) -> None:
    store = Store(path)
    start.wait()
    ids = []
    for j in range(PER_WRITER):
        tag = worker * 100 + j
        ids.append(save(store, make_rows(ROWS, tag=tag), settings={"worker": worker, "j": j}))
        store.experiments()  # readers contend for the lock too
    out.put((worker, ids))


def test_concurrent_writers_lose_nothing(tmp_path):
    path = str(tmp_path / "shared.duckdb")
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Barrier(WRITERS), ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(path, w, start, out)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    results = dict(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    store = Store(path)
    listed = store.experiments()
    ids = [i for w in range(WRITERS) for i in results[w]]
    assert len(listed) == WRITERS * PER_WRITER == len(set(ids))
    assert sorted(e["id"] for e in listed) == sorted(ids)
    for w in range(WRITERS):
        for j, exp_id in enumerate(results[w]):
            assert store.experiment(exp_id)["settings"] == {"worker": w, "j": j}
            assert store.rows(exp_id) == make_rows(ROWS, tag=w * 100 + j)
    with duckdb.connect(path, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone() == (WRITERS * PER_WRITER
                                                                        * ROWS,)


def _hold_lock(path: str, held, release) -> None:
    con = duckdb.connect(path)
    held.set()
    release.wait(30)
    con.close()


def test_a_locked_store_is_retried_then_reported(tmp_path):
    path = tmp_path / "locked.duckdb"
    save(Store(path), make_rows(2))
    ctx = multiprocessing.get_context("spawn")
    held, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(path), held, release))
    holder.start()
    try:
        assert held.wait(30)
        impatient = Store(path, timeout=0.3)
        t0 = time.monotonic()
        with pytest.raises(StoreBusyError, match=str(path)):
            save(impatient, make_rows(2))
        with pytest.raises(StoreBusyError, match="locked"):
            impatient.experiments()
        assert time.monotonic() - t0 < 3
        # A patient store waits for the holder to let go, then succeeds.
        timer = threading.Timer(0.5, release.set)
        timer.start()
        exp_id = save(Store(path, timeout=30), make_rows(3))
        timer.join()
        assert Store(path).rows(exp_id) == make_rows(3)
    finally:
        release.set()
        holder.join(30)
    assert len(Store(path).experiments()) == 2
