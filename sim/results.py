"""One run's result (BRIEF §7) and the sentence that explains it."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from sim import __version__
from sim.model import NO_AGREEMENT, NOT_RATIFIED, RATIFIED, NegotiationModel
from sim.scenario import Scenario

Status = Literal["ratified", "signed_not_ratified", "no_agreement"]


class ScenarioRef(BaseModel):
    name: str
    sha256: str


class TraceEntry(BaseModel):
    model_config = ConfigDict(extra="allow")

    round: int
    proposer: str
    offer: dict[str, Any] | None
    utility: dict[str, float]
    support: dict[str, float]
    approval: dict[str, float]
    response: Literal["accept", "reject", "no_offer"]


class RunResult(BaseModel):
    """What one run of a scenario produced; ``negsim run --json`` prints exactly this."""

    negsim_version: str
    scenario: ScenarioRef
    seed: int
    status: Status
    reason: str
    round: int | None
    deal: dict[str, Any] | None
    outcome_class: str
    utility: dict[str, float]
    support: dict[str, float]
    approval: dict[str, float]
    ratified: dict[str, bool] | None
    analysis: dict[str, Any]
    trace: list[TraceEntry]
    parameters: dict[str, float] = {}
    """Values drawn for the scenario's uncertain parameters (empty if it has none)."""
    player: dict[str, Any] | None = None
    """For a game (``negsim play``): the side a person played and their moves."""


def run(scenario: Scenario, seed: int = 0, *, publics: bool = True) -> RunResult:
    """Run a scenario at its nominal values once to the end (see :mod:`sim.runner` for runs
    that draw uncertain parameters from the seed)."""
    model = NegotiationModel(scenario, seed, publics=publics)
    model.run_model()
    return result_of(model)


def result_of(model: NegotiationModel) -> RunResult:
    s = model.spec
    c = model.compiled
    k = model.deal
    names = {pid: p.name for pid, p in s.parties.items()}
    if k is not None:
        utility = {pid: float(lead.utility[k]) for pid, lead in model.leaders.items()}
        shown = k
    else:
        utility = {pid: float(lead.reservation) for pid, lead in model.leaders.items()}
        shown = model.last_offer
    full = c.analysis if model.with_publics else c.analysis_without_publics
    analysis = {key: v for key, v in full.items() if not key.startswith("_")}
    analysis["zopa_size_at_end"] = model.zopa_size
    return RunResult(
        negsim_version=__version__,
        scenario=ScenarioRef(name=s.name, sha256=c.sha256),
        seed=int(model.seed or 0),
        status=model.status or NO_AGREEMENT,
        reason=explain(model, names),
        round=model.signed_at,
        deal=None if k is None else model.space.decode(k),
        outcome_class=c.outcome_class(k),
        utility=_rounded(utility),
        support=model.support_of(shown),
        approval=_rounded({pid: lead.approval for pid, lead in model.leaders.items()}),
        ratified=model.ratified,
        analysis=analysis,
        trace=model.trace,
    )


def explain(model: NegotiationModel, names: dict[str, str]) -> str:
    """One sentence a class can read: why the run ended as it did."""
    c = model.compiled
    if model.status in (RATIFIED, NOT_RATIFIED):
        deal = c.outcome_class(model.deal)
        signed = f"The leaders signed a deal ({deal}) at meeting {model.signed_at}"
        if model.status == RATIFIED:
            parts = ", ".join(f"{names[p]} {v:.0%}" for p, v in model.votes.items())
            tail = f" and both countries ratified it (vote: {parts})." if parts else "."
            return signed + tail
        failed = [p for p, ok in (model.ratified or {}).items() if not ok]
        which = " and ".join(
            f"{names[p]} ({model.votes[p]:.0%} in favour, short of the "
            f"{model.publics[p].threshold:.0%} needed)" for p in failed)
        return f"{signed}, but ratification failed in {which}: involuntary defection."
    meetings = model.spec.protocol.rounds
    if model.walked_away is not None:
        return (f"No agreement: {names[model.walked_away]} walked away at meeting "
                f"{model.meeting + 1}, so the status quo holds.")
    if model.zopa_size == 0:
        empty = [names[p] for p, lead in model.leaders.items()
                 if not (lead.feasible() & (lead.utility >= lead.reservation)).any()]
        if empty:
            who = " and ".join(empty)
            return (f"No agreement: after {meetings} meetings no deal that {who} could sign "
                    "was better than no deal for its leader, so the status quo holds.")
        return (f"No agreement: after {meetings} meetings the two sides' win-sets did not "
                "overlap (no deal both publics would ratify and both leaders prefer to no deal), "
                "so the status quo holds.")
    return (f"No agreement: the deadline passed after {meetings} meetings with "
            f"{model.zopa_size} possible deals left on the table; the leaders' demands never met.")


def _rounded(d: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 6) for k, v in d.items()}
