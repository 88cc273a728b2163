"""A country's public: many citizens held as numpy arrays inside one Mesa agent.

Each citizen has a tolerance t (the largest effective concession they accept) and an affinity
in [0, 1]; the citizens whose affinity is below the leader's approval rating are the leader's
approvers. 10,000 citizens as Mesa agents would be ~190x slower (../shared/TRAPS.md).
"""

from __future__ import annotations

import mesa
import numpy as np

from sim.compiled import CompiledParty


class Public(mesa.Agent):
    """Putnam's level II: decides which deals could be ratified at home.

    Between meetings (``step``), opinions move in two ways, both vectorised:

    - Social influence, Deffuant et al. (2000) "Mixing beliefs among interacting agents":
      each citizen meets one peer (the population shifted by a random offset); if their
      tolerances differ by less than the confidence bound, the citizen moves a share mu
      toward the peer.
    - Leader cues (Putnam's "reverberation"; Zaller 1992 on elite cues): approvers whose
      tolerance is below the concession their leader stands behind (its offer, or the other
      side's offer it would sign but its public blocks) close a share of the gap. Cues only
      widen tolerance: a leader does not campaign against deals it does not defend.
    """

    def __init__(self, model, party_id: str, compiled: CompiledParty, citizens: int):
        super().__init__(model)
        self.party = party_id
        self._c = compiled
        spec = compiled.party.public
        self.spec = spec
        self.dynamics = spec.dynamics
        self.tolerance = compiled.tolerance.sample(model.rng, citizens)
        self.affinity = model.rng.random(citizens)
        self.support = compiled.grid.support(self.tolerance)
        self.threshold = model.spec.protocol.ratification[party_id]

    # -------------------------------------------------------------- aggregates
    @property
    def winset(self) -> np.ndarray:
        """Deals this public would ratify now (support at or above the threshold)."""
        return self.support >= self.threshold

    @property
    def winset_size(self) -> int:
        return int(self.winset.sum())

    @property
    def support_for_offer(self) -> float | None:
        """Support for the deal most recently on the table (for the data collector)."""
        k = self.model.last_offer
        return None if k is None else float(self.support[k])

    @property
    def expects_breakthrough(self) -> float:
        """Share of citizens who would accept some deal the other public would ratify now
        (not calibrated; compare the Sankei/FNN share expecting progress)."""
        other = self.model.publics.get(self.model.spec.other(self.party))
        if other is None or not other.winset.any():
            return 0.0
        return float((self.tolerance >= self._c.x[other.winset].min()).mean())

    @property
    def mean_tolerance(self) -> float:
        return float(self.tolerance.mean())

    # -------------------------------------------------------------- dynamics
    def step(self) -> None:
        self.influence()
        self.follow_leader()
        self.support = self._c.grid.support(self.tolerance)

    def influence(self) -> None:
        t = self.tolerance
        if t.size < 2:
            return  # nobody to talk to
        s = int(self.model.rng.integers(1, t.size))
        gap = np.concatenate((t[s:], t[:s]))
        gap -= t
        gap *= np.abs(gap) < self.dynamics.confidence_bound
        gap *= self.dynamics.convergence
        t += gap

    def follow_leader(self) -> None:
        k = self.model.defends.get(self.party)
        if k is None or self.dynamics.cue_strength == 0:
            return
        pull = self._c.x[k] - self.tolerance
        np.maximum(pull, 0.0, out=pull)
        pull *= self.affinity < self.model.leaders[self.party].approval
        pull *= self.dynamics.cue_strength
        self.tolerance += pull

    def shift(self, delta: float) -> None:
        """A scheduled opinion shock: every tolerance moves by ``delta``."""
        self.tolerance += delta
        self.support = self._c.grid.support(self.tolerance)

    def ratifies(self, k: int, noise: float) -> tuple[bool, float]:
        """Ratification vote on deal k: support plus poll-sized noise against the threshold."""
        vote = float(self.support[k]) + noise * float(self.model.rng.standard_normal())
        return vote >= self.threshold, vote
