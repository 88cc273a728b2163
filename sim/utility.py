"""Leaders' utilities and publics' concession indices over the outcome space.

Leader (Raiffa's linear-additive multi-issue utility, as in Faratin, Sierra & Jennings 1998):

    raw(o)  = sum_i w_i * s_i * v_i(o_i) + premium * s_p      for every deal o
    raw(sq) = sum_i w_i * s_i * v_i(sq_i)                     for the status quo (no treaty)
    u(o)    = (raw(o) - lo) / (hi - lo)    with lo, hi the min and max over deals and sq,

so utilities lie in [0, 1] and the reservation utility r = u(sq) is the value of no agreement.
External factors scale a weight or the premium: s = prod over factors (1 + per_unit * intensity).

Public (Putnam's level II): concession(o) = sum_i w_i * v_i(o_i) measures how much of the
national claim a deal gives up; compensation(o) likewise what it gives back. A citizen with
tolerance t supports o when concession(o) - compensation(o) <= t.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sim.outcomes import OutcomeSpace
from sim.scenario import ExternalFactor, Leader, Public


def external_scales(external: Mapping[str, ExternalFactor], intensities: Mapping[str, float],
                    party: str) -> tuple[dict[str, float], float]:
    """Multipliers on the party's issue weights and on its treaty premium."""
    weights: dict[str, float] = {}
    premium = 1.0
    for fid, factor in external.items():
        level = intensities.get(fid, factor.intensity)
        for eff in factor.effects:
            if eff.party != party:
                continue
            m = 1.0 + eff.per_unit * level
            if eff.target == "treaty_premium":
                premium *= m
            else:
                issue = eff.target.removeprefix("weight.")
                weights[issue] = weights.get(issue, 1.0) * m
    return weights, premium


def leader_utility(space: OutcomeSpace, leader: Leader, weight_scale: Mapping[str, float],
                   premium_scale: float) -> tuple[np.ndarray, float]:
    """Normalised utility of every deal and the reservation utility (see module docstring)."""
    terms = leader.utility.issues
    raw = space.linear(terms, weight_scale) + leader.utility.treaty_premium * premium_scale
    raw_sq = space.linear_at(terms, space.status_quo, weight_scale)
    lo = min(float(raw.min()), raw_sq)
    hi = max(float(raw.max()), raw_sq)
    span = hi - lo if hi > lo else 1.0
    return (raw - lo) / span, (raw_sq - lo) / span


def effective_concession(space: OutcomeSpace, public: Public) -> np.ndarray:
    """concession(o) - compensation(o) for every deal."""
    return space.linear(public.concession.issues) - space.linear(public.compensation.issues)
