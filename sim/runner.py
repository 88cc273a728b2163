"""Running one member of an ensemble: draw its parameters from its seed, build, run, summarise.

A :class:`Runner` holds the resolved scenario data (distributions included) and is all a worker
process or a Dask worker needs: it pickles small, and every run depends only on its seed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sim.compiled import Compiled, compile_scenario
from sim.model import NegotiationModel
from sim.results import RunResult, result_of
from sim.scenario import Scenario
from sim.uncertainty import Uncertain, draw_values, uncertain_parameters, with_values


@dataclass
class Runner:
    data: dict
    publics: bool = True
    fixed: dict[str, float] = field(default_factory=dict)
    """Parameter values imposed on every run (a sweep's grid point); the others are drawn."""

    def __post_init__(self) -> None:
        self.params: list[Uncertain] = uncertain_parameters(self.data)
        self.nominal: Scenario = Scenario.model_validate(
            with_values(self.data, self.params, self.fixed), context={"defer_references": True})
        self._nominal = compile_scenario(self.nominal)
        self._drawn = [p for p in self.params if p.name not in self.fixed]

    def __getstate__(self):
        return {"data": self.data, "publics": self.publics, "fixed": self.fixed}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.__post_init__()

    @property
    def name(self) -> str:
        return self.nominal.name

    @property
    def sha256(self) -> str:
        return self._nominal.sha256

    def compiled_for(self, seed: int) -> tuple[Compiled, dict[str, float]]:
        """The scenario as run with this seed: uncertain parameters drawn from the seed."""
        if not self._drawn:
            return self._nominal, dict(self.fixed)
        values = {**draw_values(self._drawn, seed), **self.fixed}
        scenario = Scenario.model_validate(with_values(self.data, self.params, values),
                                           context={"defer_references": True})
        return Compiled(scenario), values

    def model(self, seed: int) -> tuple[NegotiationModel, dict[str, float]]:
        compiled, values = self.compiled_for(seed)
        return NegotiationModel(compiled, seed, publics=self.publics), values

    def run(self, seed: int) -> RunResult:
        """One full run, as ``negsim run --seed`` prints it."""
        model, values = self.model(seed)
        model.run_model()
        return self.result(model, values)

    def result(self, model: NegotiationModel, values: dict[str, float]) -> RunResult:
        """The RunResult of a finished model of this runner (a run or a game): identified by
        the scenario as written (with its distributions), with the values this run drew."""
        result = result_of(model)
        result.parameters = values
        result.scenario.sha256 = self.sha256
        return result

    def row(self, index: int, seed: int) -> dict:
        """One run as a flat record for ensembles; a run that raises is recorded, not fatal."""
        start = time.perf_counter()
        row: dict = {"index": index, "seed": seed}
        try:
            model, values = self.model(seed)
            model.run_model()
            row.update(summary_row(model))
            row["parameters"] = values
            row["error"] = None
        except Exception as e:  # noqa: BLE001 - recorded with its seed, the ensemble goes on
            row.update(status="failed", error=f"{type(e).__name__}: {e}", parameters={})
        row["elapsed_ms"] = round((time.perf_counter() - start) * 1e3, 3)
        return row


def summary_row(model: NegotiationModel) -> dict:
    k = model.deal
    row = {
        "status": model.status,
        "outcome_class": model.compiled.outcome_class(k),
        "round": model.signed_at,
        "meetings": len(model.trace),
        "deal": None if k is None else int(k),
    }
    for pid, leader in model.leaders.items():
        row[f"utility_{pid}"] = float(leader.utility[k] if k is not None else leader.reservation)
        row[f"approval_{pid}"] = float(leader.approval)
        public = model.publics.get(pid)
        row[f"support_{pid}"] = (None if public is None or k is None
                                 else float(public.support[k]))
        row[f"ratified_{pid}"] = None if model.ratified is None else bool(model.ratified[pid])
    return row
