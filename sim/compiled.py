"""A scenario turned into numpy arrays once, shared by every run of it.

Enumerating the outcome space, the publics' concession indices and the round-0 analysis depend
only on the scenario, not on the seed, so an ensemble compiles once and runs many times.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from sim import analysis
from sim.calibration import CalibrationError, ToleranceDistribution
from sim.outcomes import STATUS_QUO_CLASS, OutcomeSpace
from sim.scenario import Ban, Party, Scenario
from sim.utility import effective_concession, external_scales, leader_utility

TOLERANCE_STEPS = 4096
"""Tolerances and concessions are compared on a grid this fine (far below poll precision), which
lets support for every deal be counted with one histogram instead of a sort per meeting."""


@dataclass(frozen=True)
class ConcessionGrid:
    """The grid on which a public's tolerances are compared with deals' concessions."""

    lo: float
    step: float
    deal_bins: np.ndarray  # (K,) smallest grid step a tolerance must reach to support each deal

    @classmethod
    def over(cls, x: np.ndarray, top: float) -> ConcessionGrid:
        lo = min(0.0, float(x.min()))
        step = (max(top, float(x.max())) - lo) / TOLERANCE_STEPS
        bins = np.ceil(np.round((x - lo) / step, 9)).astype(np.intp)
        return cls(lo, step, bins)

    def citizen_bins(self, tolerance: np.ndarray) -> np.ndarray:
        """Grid step each citizen's tolerance reaches, in 0..TOLERANCE_STEPS + 1 (0: below all)."""
        q = tolerance - self.lo
        q *= 1.0 / self.step
        np.clip(q, -1.0, TOLERANCE_STEPS, out=q)
        return q.astype(np.intp) + 1

    def support(self, tolerance: np.ndarray) -> np.ndarray:
        """Share of citizens supporting each deal: tolerance >= concession, on the grid."""
        counts = np.bincount(self.citizen_bins(tolerance), minlength=TOLERANCE_STEPS + 2)
        at_least = np.cumsum(counts[::-1])[::-1]
        return at_least[self.deal_bins + 1] / tolerance.size


@dataclass(frozen=True)
class CompiledParty:
    id: str
    party: Party
    requires: np.ndarray  # (K,) bool: the leader's hard constraints
    x: np.ndarray | None  # (K,) effective concession, if the party has a public
    tolerance: ToleranceDistribution | None
    grid: ConcessionGrid | None


class Compiled:
    """Scenario + outcome space + per-party arrays + the exact round-0 analysis."""

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.space, self.class_names, self.class_of = _space_of(scenario)
        self.parties: dict[str, CompiledParty] = {}
        for pid, party in scenario.parties.items():
            x = tol = grid = None
            if party.public is not None:
                x = effective_concession(self.space, party.public)
                points = [(float(x[self.space.encode(p.deal)]), p.target, p.label)
                          for p in party.public.polls]
                try:
                    tol = ToleranceDistribution.from_polls(points, float(x.max()))
                except CalibrationError as e:
                    e.party = pid
                    raise
                grid = ConcessionGrid.over(x, float(tol.xs[-1]))
            requires = self.space.allowed(party.leader.requires)
            self.parties[pid] = CompiledParty(pid, party, requires, x, tol, grid)
        self.ids = scenario.party_ids
        self.base_intensities = {f: e.intensity for f, e in scenario.external.items()}

    def utilities(self, intensities: dict[str, float] | None = None):
        """{party: (u, r)} under the given external intensities (default: the scenario's)."""
        if intensities is None or intensities == self.base_intensities:
            return self.base_utilities
        return self._utilities(intensities)

    @cached_property
    def base_utilities(self):
        return self._utilities(self.base_intensities)

    def _utilities(self, intensities):
        out = {}
        for pid, cp in self.parties.items():
            w, p = external_scales(self.scenario.external, intensities, pid)
            out[pid] = leader_utility(self.space, cp.party.leader, w, p)
        return out

    @cached_property
    def sha256(self) -> str:
        from sim.loading import scenario_sha256

        return scenario_sha256(self.scenario)

    def outcome_class(self, k: int | None) -> str:
        return STATUS_QUO_CLASS if k is None else self.class_names[int(self.class_of[k])]

    @cached_property
    def analysis(self) -> dict:
        """The exact round-0 analysis (BRIEF §4), from the calibrated, not sampled, publics."""
        return self._analysis(publics=True)

    @cached_property
    def analysis_without_publics(self) -> dict:
        """The same for the bare negotiation (level I only: every deal can be ratified)."""
        return self._analysis(publics=False)

    def _analysis(self, publics: bool) -> dict:
        supports = {pid: cp.tolerance.support(cp.x) if publics and cp.x is not None else None
                    for pid, cp in self.parties.items()}
        approvals = {pid: cp.party.leader.approval for pid, cp in self.parties.items()}
        return exact_analysis(self, approvals, supports, dict(self.scenario.protocol.ratification),
                              self.base_utilities, extra_bans=self.opening_bans())

    def opening_bans(self) -> dict[str, np.ndarray] | None:
        """Bans in force from the first meeting (events at meeting 1), which the round-0
        analysis must respect like the model does."""
        bans = {pid: np.ones(self.space.size, dtype=bool) for pid in self.parties}
        found = False
        for ev in self.scenario.events:
            if ev.round == 1 and isinstance(ev.effect, Ban) and ev.effect.party in bans:
                bans[ev.effect.party] &= ~self.space.touching(ev.effect.options)
                found = True
        return bans if found else None


def leader_feasible(cp: CompiledParty, approval: float, support: np.ndarray | None,
                    threshold: float | None, bans: np.ndarray | None = None) -> np.ndarray:
    """Deals a leader may sign: hard constraints, legal bans, own public's win-set, and no
    expected fall of approval below the floor (approval - cost * opposition)."""
    ok = cp.requires.copy()
    if bans is not None:
        ok &= bans
    if support is not None:
        pub = cp.party.public
        ok &= support >= threshold
        ok &= approval - pub.approval_cost * (1.0 - support) >= cp.party.leader.approval_floor
    return ok


def exact_analysis(c: Compiled, approvals, supports, thresholds, utilities, extra_bans) -> dict:
    """Pareto frontier, Nash, Kalai–Smorodinsky, weighted compromise, win-sets and the ZOPA."""
    a, b = c.ids
    (ua, ra), (ub, rb) = utilities[a], utilities[b]
    winsets = {}
    feasible = {}
    for pid in (a, b):
        cp = c.parties[pid]
        s = supports[pid]
        winsets[pid] = (s >= thresholds[pid]) if s is not None else np.ones(c.space.size, bool)
        feasible[pid] = leader_feasible(cp, approvals[pid], s, thresholds.get(pid),
                                        None if extra_bans is None else extra_bans[pid])
    zopa = analysis.zopa_mask(ua, ub, ra, rb, feasible[a], feasible[b])
    pareto = analysis.pareto_mask(ua, ub)
    nash = analysis.nash_solution(ua, ub, ra, rb)
    ks = analysis.kalai_smorodinsky(ua, ub, ra, rb)
    nash_z = analysis.nash_solution(ua, ub, ra, rb, zopa)
    ks_z = analysis.kalai_smorodinsky(ua, ub, ra, rb, zopa)
    compromise = weighted_compromise(c, utilities)

    def deal(k):
        return None if k is None else c.space.decode(k)

    def point(k):
        return None if k is None else {a: round(float(ua[k]), 6), b: round(float(ub[k]), 6)}

    return {
        "outcome_space_size": int(c.space.size),
        "zopa_size": int(zopa.sum()),
        "winset_size": {pid: int(w.sum()) for pid, w in winsets.items()},
        "leader_feasible_size": {pid: int(f.sum()) for pid, f in feasible.items()},
        "reservation": {a: round(float(ra), 6), b: round(float(rb), 6)},
        "pareto_size": int(pareto.sum()),
        "nash": deal(nash),
        "nash_utility": point(nash),
        "kalai_smorodinsky": deal(ks),
        "kalai_smorodinsky_utility": point(ks),
        "nash_in_zopa": deal(nash_z),
        "nash_in_zopa_utility": point(nash_z),
        "kalai_smorodinsky_in_zopa": deal(ks_z),
        "kalai_smorodinsky_in_zopa_utility": point(ks_z),
        "compromise": deal(compromise),
        "compromise_utility": point(compromise),
        "_masks": {"zopa": zopa, "pareto": pareto, "winsets": winsets, "feasible": feasible},
    }


def weighted_compromise(c: Compiled, utilities) -> int:
    """The compromise model (Achen 2006): per issue, the capability x salience weighted mean of
    the parties' ideal positions, rounded to the nearest option. Salience is the leader's
    (externally scaled) utility weight; a naive baseline to show next to the simulation."""
    deal = {}
    intens = c.base_intensities
    for pos, issue in enumerate(c.space.issues):
        positions = c.scenario.agenda.issues[issue].positions()
        ideals, sal, cap = [], [], []
        for pid, cp in c.parties.items():
            term = cp.party.leader.utility.issues[issue]
            values = [term.values[o] for o in c.space.options[pos]]
            ideals.append(positions[int(np.argmax(values))])
            w, _ = external_scales(c.scenario.external, intens, pid)
            sal.append(term.weight * w.get(issue, 1.0))
            cap.append(cp.party.capability)
        if sum(s * k for s, k in zip(sal, cap, strict=True)) == 0:
            choice = c.space.status_quo[issue]
        else:
            mean = analysis.compromise_position(ideals, sal, cap)
            choice = c.space.options[pos][analysis.nearest_option(mean, positions)]
        deal[issue] = choice
    return c.space.encode(deal)


def _space_of(scenario: Scenario):
    """Outcome space and classes depend only on the agenda and the class definitions, which
    every run of an ensemble shares: build them once."""
    key = json.dumps([scenario.agenda.model_dump(mode="json"),
                      [c.model_dump(mode="json") for c in scenario.outcome_classes]],
                     sort_keys=True)
    hit = _SPACES.get(key)
    if hit is None:
        space = OutcomeSpace(scenario.agenda)
        names, class_of = space.classify_all(scenario.outcome_classes)
        class_of.setflags(write=False)
        space.index.setflags(write=False)
        hit = _SPACES[key] = (space, names, class_of)
        if len(_SPACES) > 16:
            _SPACES.pop(next(iter(_SPACES)))
    return hit


_SPACES: dict[str, tuple] = {}
_CACHE: dict[int, tuple[Scenario, Compiled]] = {}


def compile_scenario(scenario: Scenario) -> Compiled:
    """Compile once per scenario object (kept alive by the cache, so its id is not reused)."""
    hit = _CACHE.get(id(scenario))
    if hit is not None and hit[0] is scenario:
        return hit[1]
    if len(_CACHE) >= 32:
        _CACHE.pop(next(iter(_CACHE)))
    compiled = Compiled(scenario)
    _CACHE[id(scenario)] = (scenario, compiled)
    return compiled
