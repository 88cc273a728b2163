"""The ``negsim`` command line: list, inspect, analyse and run negotiation scenarios."""

from __future__ import annotations

import contextlib
import json
import sys
import time
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from sim import __version__
from sim.loading import ScenarioError, bundled_names, resolve
from sim.scenario import Scenario

app = typer.Typer(
    help=(
        "negsim: simulate two-level negotiations (leaders bargain, publics ratify).\n\n"
        "Start with `negsim scenarios`, then `negsim analyze baseline` (which deals are "
        "possible at all) and `negsim run baseline` (what happens)."
    ),
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)
# Piped output (files, CliRunner) gets wide tables instead of Rich's 80-column default.
out = Console(width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)  # one problem per line, never wrapped

ScenarioArg = Annotated[
    str, typer.Argument(help="A bundled scenario name (see `negsim scenarios`) or a YAML file.")
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", metavar="PATH=VALUE",
                 help="Override a field, e.g. --set parties.russia.leader.approval=0.8 "
                      "(repeatable; values are checked by the schema, never evaluated)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead.")]
StoreOpt = Annotated[Path | None, typer.Option(
    "--store", help="Results database (DuckDB) where ensembles, sweeps and sensitivity runs "
                    "are saved; default: $NEGSIM_STORE or ./negsim-results.duckdb.")]


def _version(value: bool) -> None:
    if value:
        out.print(f"negsim {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """negsim command line."""


def _load(ref: str, sets: list[str] | None = None):
    try:
        return resolve(ref, sets or [])
    except ScenarioError as e:
        _report_problems(ref, e)


def _report_problems(ref: str, e: ScenarioError) -> NoReturn:
    n = len(e.problems)
    err.print(f"[bold red]error:[/] {n} problem{'s' if n != 1 else ''} in scenario {ref!r}:",
              highlight=False)
    for p in e.problems:
        err.print(f"  {p}", markup=False, highlight=False)
    raise typer.Exit(2)


# --------------------------------------------------------------------------- scenarios, schema


@app.command()
def scenarios() -> None:
    """List the bundled scenarios."""
    table = Table(title="Bundled scenarios", show_lines=False)
    table.add_column("name", style="bold")
    table.add_column("extends")
    table.add_column("title")
    for name in bundled_names():
        r = _load(name)
        table.add_row(name, _extends_of(r), r.scenario.title)
    out.print(table)


def _extends_of(r) -> str:
    return Path(r.files[-2]).stem if len(r.files) > 1 else ""


@app.command()
def schema() -> None:
    """Print the JSON Schema of scenario files (the schema is the documentation)."""
    out.print_json(json.dumps(Scenario.model_json_schema()))


@app.command()
def validate(
    path: ScenarioArg,
    sets: SetOpt = None,
    strict: Annotated[bool, typer.Option(help="Also fail on numbers without a source.")] = False,
) -> None:
    """Check a scenario file: every problem is reported at once (exit code 2 if any)."""
    from sim.provenance import unsourced

    r = _load(path, sets)
    missing = unsourced(r.data)
    for n in missing:
        err.print(f"[yellow]warning:[/] {n.path} = {n.value:g} has no source "
                  "(add `source: <id>` or `source: assumption`)", highlight=False)
    if strict and missing:
        raise typer.Exit(2)
    out.print(f"[green]ok[/]: {r.scenario.name}: {r.scenario.title} "
              f"({len(r.files)} file{'s' if len(r.files) > 1 else ''}, sha256 {r.sha256[:12]})",
              highlight=False)


@app.command()
def show(scenario: ScenarioArg, sets: SetOpt = None) -> None:
    """Show a scenario: its description, teaching notes, and every number with its source."""
    from sim.provenance import numbers

    r = _load(scenario, sets)
    s = r.scenario
    out.print(Panel(s.description.strip(), title=f"[bold]{s.name}[/]: {s.title}", expand=False))
    out.print(Panel(s.teaching_notes.strip(), title="Teaching notes", expand=False))
    table = Table(title="Parameters and their sources")
    table.add_column("field")
    table.add_column("value", justify="right")
    table.add_column("source")
    for n in numbers(r.data):
        src = n.source or "[red]none[/]"
        if n.source in s.sources:
            src = f"{n.source}: {s.sources[n.source].title}"
        if n.note:
            src += f" ({n.note})"
        table.add_row(n.path, f"{n.value:g}", src)
    out.print(table)
    srcs = Table(title="Sources")
    srcs.add_column("id", style="bold")
    srcs.add_column("source")
    srcs.add_column("date")
    for sid, src in s.sources.items():
        srcs.add_row(sid, src.title + (f" ({src.publisher})" if src.publisher else ""),
                     src.date or "")
    out.print(srcs)


# --------------------------------------------------------------------------- analyze


@app.command()
def analyze(scenario: ScenarioArg, sets: SetOpt = None, as_json: JsonOpt = False) -> None:
    """Exact analysis, no simulation: win-sets, the ZOPA, Pareto frontier, Nash and
    Kalai–Smorodinsky solutions, the weighted-compromise prediction, and the poll calibration."""
    from sim.report import analysis_report

    r = _load(scenario, sets)
    report = analysis_report(r.scenario, r.data)
    if as_json:
        print(json.dumps(report, indent=2, ensure_ascii=False))
        return
    from sim.report import print_analysis

    print_analysis(out, r.scenario, report)


# --------------------------------------------------------------------------- run


@app.command()
def run(
    scenario: ScenarioArg,
    seed: Annotated[int, typer.Option(help="Random seed: same scenario + seed, same result. "
                                      "With --runs, the master seed of the ensemble.")] = 0,
    sets: SetOpt = None,
    as_json: JsonOpt = False,
    out_file: Annotated[Path | None, typer.Option("--out", help="Also write the JSON result "
                                                  "to this file (atomically).")] = None,
    trace: Annotated[bool, typer.Option(help="Show the offers meeting by meeting.")] = False,
    publics: Annotated[bool, typer.Option(help="Include the publics (level II); "
                                          "--no-publics runs the bare negotiation.")] = True,
    runs: Annotated[int, typer.Option(min=1, help="Run a Monte Carlo ensemble of this many "
                                      "runs (run i's seed derives from --seed and i).")] = 1,
    workers: Annotated[int | None, typer.Option(min=1, help="Worker processes for an "
                                                "ensemble (default: all cores).")] = None,
    backend: Annotated[str, typer.Option(help="Where ensemble runs go: `local` processes or "
                                         "a `dask` cluster.")] = "local",
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. "
                                                  "tcp://127.0.0.1:8786 (with --backend dask; "
                                                  "default: a local cluster).")] = None,
    store: StoreOpt = None,
) -> None:
    """Run a scenario once and explain how it ended (`--json`: the RunResult of BRIEF §7), or
    an ensemble with `--runs N` (`--json`: the EnsembleResult)."""
    from sim.io import atomic_write_text
    from sim.runner import Runner

    r = _load(scenario, sets)
    runner = Runner(r.data, publics=publics)
    if runs > 1:
        settings = {"runs": runs, "workers": workers, "backend": backend, "sets": sets or [],
                    "publics": publics}
        _ensemble(r, runner, settings, seed, scheduler, as_json, out_file, store)
        return
    from sim.report import print_run

    result = runner.run(seed)
    text = result.model_dump_json(indent=2)
    if out_file is not None:
        atomic_write_text(out_file, text + "\n")
    if as_json:
        sys.stdout.write(text + "\n")
        return
    print_run(out, r.scenario, result, trace=trace)
    if out_file is not None:
        out.print(f"Result written to {out_file}", highlight=False)


@contextlib.contextmanager
def _progress(label: str, total: int | None):
    """A Rich progress bar on stderr with runs/s and ETA; yields (advance, set_total)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]:>7} runs/s"), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task(label, total=total, rate="")
        started = time.perf_counter()

        def advance(n: int) -> None:
            bar.advance(task, n)
            done = bar.tasks[task].completed
            bar.update(task, rate=f"{done / max(time.perf_counter() - started, 1e-9):.0f}")

        def set_total(n: int) -> None:
            bar.update(task, total=n)

        yield advance, set_total


def _ensemble(r, runner, settings, seed, scheduler, as_json, out_file, store) -> None:
    from sim.ensemble import Ensemble, default_workers
    from sim.io import atomic_write_text
    from sim.report import print_ensemble

    backend, runs = settings["backend"], settings["runs"]
    if backend not in ("local", "dask"):
        raise _usage_error(f"--backend must be `local` or `dask`, not {backend!r}")
    ens = Ensemble(runner, runs, seed, settings["workers"] or default_workers(), backend)
    started = time.time()
    try:
        with _progress(f"{runner.name} x {runs}", runs) as (advance, _):
            ens.execute(advance, scheduler)
    except RuntimeError as e:
        from sim.cluster import ClusterError  # only now: importing Dask costs a second

        if not isinstance(e, ClusterError):
            raise
        raise _usage_error(str(e)) from None
    result = ens.result()
    result["experiment_id"] = _save(store, "ensemble", r, seed, settings, result, ens.rows,
                                    started, ens.elapsed_s)
    text = json.dumps(result, indent=2)
    if out_file is not None:
        atomic_write_text(out_file, text + "\n")
    if ens.interrupted:
        err.print(f"[yellow]interrupted:[/] kept the {len(ens.rows)} finished runs")
    if as_json:
        sys.stdout.write(text + "\n")
    else:
        print_ensemble(out, runner.nominal, result)
    if ens.interrupted:
        raise typer.Exit(130)


def _save(store, kind, r, seed, settings, summary, rows, started, elapsed_s) -> int | None:
    """Save an experiment to the results store; a store problem is reported, not fatal (the
    results are already printed or written)."""
    from sim.loading import dump_resolved
    from sim.store import Store, StoreError

    try:
        with Store(store) as db:
            eid = db.save(kind, scenario_name=r.scenario.name, scenario_sha256=r.sha256,
                          scenario_text=dump_resolved(r), negsim_version=__version__, seed=seed,
                          settings=settings, summary=summary, rows=rows, started=started,
                          elapsed_s=elapsed_s)
    except (StoreError, OSError) as e:
        err.print(f"[yellow]warning:[/] not saved to the results store: {e}", highlight=False)
        return None
    err.print(f"Saved as experiment {eid} in {db.path}", highlight=False)
    return eid


# --------------------------------------------------------------------------- sweep, sensitivity

WorkersOpt = Annotated[int | None, typer.Option(min=1, help="Worker processes (default: all "
                                                "cores).")]
PrefixOpt = Annotated[str | None, typer.Option("--out", help="Output file prefix: writes "
                                               "PREFIX.csv and PREFIX.png (default: "
                                               "<scenario>-<command>).")]


def _usage_error(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(2)


@app.command()
def sweep(
    scenario: ScenarioArg,
    grid: Annotated[list[str], typer.Option(
        "--grid", "-g", metavar="PATH=LO:HI:STEPS",
        help="A parameter and its evenly spaced values, e.g. "
             "--grid protocol.ratification.russia=0.3:0.6:4 (one or two of them).")],
    runs_per_point: Annotated[int, typer.Option(min=1, help="Runs at every grid point "
                                                "(the same seeds at every point).")] = 100,
    seed: Annotated[int, typer.Option(help="Master seed.")] = 0,
    sets: SetOpt = None,
    workers: WorkersOpt = None,
    prefix: PrefixOpt = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """What would it take? Run an ensemble at every point of a one- or two-parameter grid
    (BehaviorSpace-style) and chart the probability of agreement: a CSV table and a PNG
    (heatmap for two parameters, line chart for one)."""
    from sim.ensemble import default_workers
    from sim.plots import sweep_png
    from sim.report import print_sweep
    from sim.sweep import sweep as run_sweep

    if not 1 <= len(grid) <= 2:
        raise _usage_error("give one or two --grid parameters")
    r = _load(scenario, sets)
    prefix = prefix or f"{r.scenario.name}-sweep"
    started = time.time()
    try:
        with _progress(f"sweep {r.scenario.name}", None) as (advance, set_total):
            result = run_sweep(r.data, grid, runs_per_point, seed, workers or default_workers(),
                               advance, origins=r.origins, csv_path=f"{prefix}.csv",
                               on_total=set_total)
    except ValueError as e:
        raise _usage_error(str(e)) from None
    except ScenarioError as e:
        _report_problems(scenario, e)
    sweep_png(result, f"{prefix}.png")
    settings = {"grid": grid, "runs_per_point": runs_per_point, "workers": workers,
                "sets": sets or []}
    summary = {k: v for k, v in result.items() if k != "rows"}
    summary["experiment_id"] = _save(store, "sweep", r, seed, settings, summary,
                                     result["rows"], started, result["elapsed_s"])
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        print_sweep(out, result)
        out.print(f"Wrote {prefix}.csv and {prefix}.png", highlight=False)
    if result.get("interrupted"):
        raise typer.Exit(130)


@app.command()
def sensitivity(
    scenario: ScenarioArg,
    method: Annotated[str, typer.Option(help="`sobol` (variance-based: first-order and total "
                                        "indices) or `morris` (elementary effects: mu* and "
                                        "sigma; cheaper).")] = "sobol",
    samples: Annotated[int, typer.Option(min=1, help="Sobol: base sample size N (a power of "
                                         "2); Morris: number of trajectories.")] = 64,
    param: Annotated[list[str] | None, typer.Option(
        "--param", "-p", metavar="PATH[=LO:HI]",
        help="Analyse these parameters (default: the scenario's uncertain ones); a parameter "
             "without a distribution needs a range.")] = None,
    runs_per_sample: Annotated[int, typer.Option(min=1, help="Runs per sample point.")] = 10,
    seed: Annotated[int, typer.Option(help="Seed of the sample design and the runs.")] = 0,
    sets: SetOpt = None,
    workers: WorkersOpt = None,
    prefix: PrefixOpt = None,
    as_json: JsonOpt = False,
    store: StoreOpt = None,
) -> None:
    """Which assumptions drive the outcome? Global sensitivity analysis with SALib of the
    probability of ratified agreement and of each side's utility: an indices table (CSV) and a
    bar chart (PNG)."""
    from sim.ensemble import default_workers
    from sim.plots import sensitivity_png
    from sim.report import print_sensitivity
    from sim.sensitivity import sensitivity as run_sensitivity
    from sim.sweep import write_csv

    if method not in ("sobol", "morris"):
        raise _usage_error(f"--method must be `sobol` or `morris`, not {method!r}")
    r = _load(scenario, sets)
    prefix = prefix or f"{r.scenario.name}-sensitivity-{method}"
    started = time.time()
    try:
        with _progress(f"{method} {r.scenario.name}", None) as (advance, set_total):
            result = run_sensitivity(r.data, method, samples, param or None, runs_per_sample,
                                     seed, workers or default_workers(), advance,
                                     origins=r.origins, on_total=set_total)
    except ValueError as e:
        raise _usage_error(str(e)) from None
    except ScenarioError as e:
        _report_problems(scenario, e)
    except KeyboardInterrupt:
        err.print("[yellow]interrupted:[/] sensitivity indices need every sample; nothing kept")
        raise typer.Exit(130) from None
    write_csv(result["indices"], f"{prefix}.csv")
    sensitivity_png(result, f"{prefix}.png")
    settings = {"method": method, "samples": samples, "param": param or [],
                "runs_per_sample": runs_per_sample, "workers": workers, "sets": sets or []}
    summary = {k: v for k, v in result.items() if k != "design"}
    summary["experiment_id"] = _save(store, "sensitivity", r, seed, settings, summary,
                                     result["design"], started, result["elapsed_s"])
    if as_json:
        print(json.dumps(summary, indent=2))
    else:
        print_sensitivity(out, result)
        out.print(f"Wrote {prefix}.csv and {prefix}.png", highlight=False)


# --------------------------------------------------------------------------- results store


@app.command()
def history(
    store: StoreOpt = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Show only the newest N.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """List the experiments saved in the results store, newest first."""
    from sim.store import Store, StoreError

    try:
        rows = Store(store).experiments(limit)
    except StoreError as e:
        raise _usage_error(str(e)) from None
    if as_json:
        print(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        out.print(f"No experiments saved yet in {Store(store).path}.", highlight=False)
        return
    t = Table(title=f"Experiments in {Store(store).path}")
    for col in ("id", "kind", "created (UTC)", "scenario", "sha256", "seed", "runs", "seconds"):
        t.add_column(col, justify="right" if col in ("id", "runs", "seconds", "seed") else "left")
    for e in rows:
        t.add_row(str(e["id"]), e["kind"], str(e["created"])[:19], e["scenario_name"],
                  e["scenario_sha256"][:12], "" if e["seed"] is None else str(e["seed"]),
                  str(e["runs"]), "" if e["elapsed_s"] is None else f"{e['elapsed_s']:.1f}")
    out.print(t)


@app.command()
def export(
    experiment_id: Annotated[int, typer.Argument(help="Experiment id (see `negsim history`).")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="csv, parquet or json.")] = "csv",
    out_path: Annotated[Path | None, typer.Option(
        "--out", help="File or directory to write (default: negsim-experiment-ID.FORMAT "
                      "here).")] = None,
    store: StoreOpt = None,
) -> None:
    """Export one experiment's per-run rows (written atomically: complete or absent)."""
    from sim.store import Store, StoreError

    if fmt not in ("csv", "parquet", "json"):
        raise _usage_error(f"--format must be csv, parquet or json, not {fmt!r}")
    try:
        path = Store(store).export(experiment_id, out_path or Path.cwd(), fmt)
    except (KeyError, StoreError) as e:
        raise _usage_error(str(e).strip("'\"")) from None
    out.print(f"Wrote {path}", highlight=False)


# --------------------------------------------------------------------------- classroom


@app.command()
def brief(
    scenario: ScenarioArg,
    side: Annotated[str, typer.Option("--side", help="The side the brief is for (a party "
                                      "id, e.g. japan or russia).")],
    confidential: Annotated[bool, typer.Option(help="The confidential brief (reservation "
                                               "value, priorities, approval floor) instead "
                                               "of the public one.")] = False,
    fmt: Annotated[str, typer.Option("--format", help="md or html (standalone page).")] = "md",
    out_file: Annotated[Path | None, typer.Option("--out", help="Write it to this file "
                                                  "(atomically).")] = None,
    sets: SetOpt = None,
) -> None:
    """A role brief for one side, generated from the scenario file (numbers with sources)."""
    from sim.briefs import brief as make_brief
    from sim.briefs import brief_html
    from sim.io import atomic_write_text

    if fmt not in ("md", "html"):
        raise _usage_error(f"--format must be md or html, not {fmt!r}")
    r = _load(scenario, sets)
    try:
        text = (brief_html if fmt == "html" else make_brief)(r, side, confidential=confidential)
    except ValueError as e:
        raise _usage_error(str(e)) from None
    if out_file is not None:
        atomic_write_text(out_file, text)
        out.print(f"Wrote {out_file}", highlight=False)
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


@app.command()
def report(
    result_file: Annotated[Path, typer.Argument(help="A RunResult JSON file (`negsim run "
                                                "--json`, `negsim play --json`, or a game "
                                                "downloaded from the dashboard).")],
    out_file: Annotated[Path, typer.Option("--out", help="The HTML report to write "
                                           "(atomically).")] = Path("report.html"),
    scenario: Annotated[str | None, typer.Option(help="The scenario the run used, if it was "
                                                 "not a bundled one as is (a YAML file, "
                                                 "e.g. one downloaded from the dashboard).")]
    = None,
    sets: SetOpt = None,
    runs: Annotated[int, typer.Option(min=0, help="Agent-vs-agent runs to compare with (0: "
                                      "none).")] = 200,
    workers: WorkersOpt = None,
) -> None:
    """A one-page debrief of a finished run or game: the deal on the island map, the path of
    offers against the Pareto frontier, Nash and ZOPA, how agents fare on the same scenario,
    and what happened in reality. One standalone HTML file: no internet needed."""
    from sim.debrief import load_result, write_report

    try:
        result = load_result(result_file)
        r = _load(scenario or result.scenario.name, sets) if (scenario or sets) else None
        path = write_report(result, out_file, resolved=r, ensemble_runs=runs,
                            workers=workers or 1)
    except (ValueError, OSError) as e:
        raise _usage_error(str(e)) from None
    out.print(f"Wrote {path}", highlight=False)


# --------------------------------------------------------------------------- play


@app.command()
def play(
    scenario: ScenarioArg,
    side: Annotated[str, typer.Option("--as", help="The side you play (a party id, e.g. "
                                      "japan or russia).")],
    seed: Annotated[int, typer.Option(help="Seed: the same moves and seed replay the same "
                                      "game.")] = 0,
    sets: SetOpt = None,
    as_json: JsonOpt = False,
    out_file: Annotated[Path | None, typer.Option("--out", help="Write the game's RunResult "
                                                  "JSON to this file (atomically).")] = None,
) -> None:
    """Play one leader against the agent, meeting by meeting, from the terminal.

    On your turn to offer, type the options you want, e.g. `habomai=japan shikotan=japan`
    (issues you leave out stay as in the status quo); `preview ...` shows how the deal would be
    received without sending it; `pass` makes no offer; `quit` walks away. When the agent
    offers, answer `accept` or `reject`. Lines can also come from a file or a pipe.
    """
    from sim.io import atomic_write_text
    from sim.play import Game
    from sim.report import describe, print_run
    from sim.runner import Runner

    r = _load(scenario, sets)
    try:
        game = Game(Runner(r.data), seed, side)
    except ValueError as e:
        raise _usage_error(str(e)) from None
    s = r.scenario
    say = out.print if not as_json else err.print
    issues = ", ".join(f"{i} ({'|'.join(s.agenda.issues[i].options)})" for i in s.agenda.issues)
    say(f"You are {s.parties[side].leader.name} ({s.parties[side].name}). "
        f"{s.protocol.rounds} meetings. Issues: {issues}", highlight=False)

    def read(prompt: str) -> str | None:
        say(prompt, end="", highlight=False)
        line = sys.stdin.readline()
        return None if not line else line.strip()

    def parse(words: list[str]) -> dict:
        deal = {}
        for w in words:
            issue, eq, option = w.partition("=")
            if not eq:
                raise ValueError(f"expected issue=option, got {w!r}")
            deal[issue] = option
        return deal

    quit_ = False
    while not game.done and not quit_:
        head = f"\n[bold]Meeting {game.meeting} of {s.protocol.rounds}[/]"
        if game.events:
            head += " — " + "; ".join(game.events)
        say(head)
        if game.proposing:
            while True:
                line = read("offer> ")
                if line is None or line == "quit":
                    game.walk_away()
                    quit_ = True
                    break
                words = line.split()
                try:
                    if words[:1] == ["preview"]:
                        say(_preview_text(game.preview(parse(words[1:])), s), highlight=False)
                        continue
                    if words == ["pass"]:
                        answer = game.propose(None)
                    else:
                        answer = game.propose(parse(words[1:] if words[:1] == ["offer"]
                                                    else words))
                except (ValueError, IndexError) as e:
                    say(f"[red]{e}[/]", highlight=False)
                    continue
                verdict = "accepts" if answer["accept"] else "rejects"
                say(f"{s.parties[game.other].leader.name} {verdict}: {answer['why']}",
                    highlight=False)
                break
        else:
            k = game.agent_offer()
            if k is None:
                say(f"{s.parties[game.other].leader.name} makes no offer.")
                game.respond(False)
                continue
            deal = game.model.space.decode(k)
            say(f"{s.parties[game.other].leader.name} offers: {describe(deal, s)}\n"
                f"  {game.agent_note()}\n" + _preview_text(game.preview(deal), s),
                highlight=False)
            while True:
                line = read("accept or reject> ")
                if line is None or line == "quit":
                    game.walk_away()
                    quit_ = True
                    break
                if line in ("accept", "reject"):
                    game.respond(line == "accept")
                    break
                say("[red]answer accept or reject[/]")
    result = game.result()
    text = result.model_dump_json(indent=2)
    if out_file is not None:
        atomic_write_text(out_file, text + "\n")
    if as_json:
        sys.stdout.write(text + "\n")
    else:
        print_run(out, s, result, trace=False)


def _preview_text(p: dict, s) -> str:
    parts = [f"  {s.parties[pid].name}: {v['support']:.0%} support "
             f"({'would' if v['would_ratify'] else 'would not'} ratify; "
             f"{v['threshold']:.0%} needed)" for pid, v in p["publics"].items()]
    mine = f"  your utility {p['your_utility']:.2f} (no deal: {p['your_reservation']:.2f})"
    if "your_approval_after" in p:
        mine += (f"; your approval after {p['your_approval_after']:.0%} "
                 f"(floor {p['your_approval_floor']:.0%})")
    return "\n".join([f"  outcome class: {p['outcome_class']}", *parts, mine])


# --------------------------------------------------------------------------- dashboard


@app.command()
def dashboard(
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 8501,
    address: Annotated[str, typer.Option(help="Address to bind (loopback by default; the "
                                         "dashboard is meant for this machine or a lab "
                                         "network you choose).")] = "127.0.0.1",
) -> None:
    """Open the web dashboard (Streamlit) at http://ADDRESS:PORT, offline, no telemetry."""
    import subprocess

    import dashboard as package

    app_dir = Path(package.__file__).parent
    command = [sys.executable, "-m", "streamlit", "run", str(app_dir / "app.py"),
               "--server.address", address, "--server.port", str(port),
               "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    out.print(f"negsim dashboard on http://{address}:{port} (Ctrl-C to stop)", highlight=False)
    # Run from the app's folder so that its .streamlit/config.toml applies.
    with contextlib.suppress(KeyboardInterrupt):
        raise typer.Exit(subprocess.call(command, cwd=app_dir))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
