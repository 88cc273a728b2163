"""Exact bargaining solution concepts on an enumerated, finite outcome space.

The outcome space has K outcomes; party A values outcome k at ``u_a[k]`` and party B at
``u_b[k]``. ``r_a``/``r_b`` are reservation utilities (the value of no agreement) and an
optional boolean ``mask`` of shape (K,) restricts the feasible set (default: all feasible).

Everything is vectorised with numpy and deterministic. Whenever several outcomes maximise a
criterion, the tie is broken by preferring the higher ``u_a + u_b``, then the lowest index.
Comparisons are on the computed float64 values. In one edge case float64 rounding could
make a dominated outcome and the outcome that dominates it have the same computed sum (their
utilities would have to differ by less than rounding error). There, the dominated outcome is
dropped before the lowest-index rule applies, which is what comparing the exact sums would do.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "compromise_position",
    "individually_rational",
    "kalai_smorodinsky",
    "nash_solution",
    "nearest_option",
    "pareto_mask",
    "utilitarian_solution",
    "zopa_mask",
]


def _vector(x, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must contain only finite values")
    return arr


def _bool_vector(x, name: str, k: int) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype != bool:
        raise ValueError(f"{name} must be a boolean array, got dtype {arr.dtype}")
    if arr.shape != (k,):
        raise ValueError(f"{name} must have shape ({k},), got {arr.shape}")
    return arr


def _space(u_a, u_b, mask) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate and return ``(u_a, u_b, feasible)`` as float, float, bool arrays of shape (K,)."""
    ua, ub = _vector(u_a, "u_a"), _vector(u_b, "u_b")
    if ua.shape != ub.shape:
        raise ValueError(f"u_a and u_b must have the same length, got {ua.size} and {ub.size}")
    feasible = np.ones(ua.size, dtype=bool) if mask is None else _bool_vector(mask, "mask", ua.size)
    return ua, ub, feasible


def _reservation(r, name: str) -> float:
    r = float(r)
    if not np.isfinite(r):
        raise ValueError(f"{name} must be finite, got {r}")
    return r


def _ir_space(u_a, u_b, r_a, r_b, mask) -> tuple:
    """Validate and return ``(u_a, u_b, r_a, r_b, ir)`` with ``ir`` the IR feasible mask."""
    ua, ub, feasible = _space(u_a, u_b, mask)
    r_a, r_b = _reservation(r_a, "r_a"), _reservation(r_b, "r_b")
    return ua, ub, r_a, r_b, feasible & (ua >= r_a) & (ub >= r_b)


def _argbest(score: np.ndarray, ua: np.ndarray, ub: np.ndarray, cand: np.ndarray) -> int | None:
    """Index of the candidate maximising ``score``; ties: higher ``ua + ub``, then lowest index."""
    if not cand.any():
        return None
    total = ua + ub
    best = cand & (score == score[cand].max())
    best &= total == total[best].max()
    # Guard against a dominated outcome tying on the *rounded* sum (see module docstring).
    best &= pareto_mask(ua, ub, best)
    return int(np.flatnonzero(best)[0])


def pareto_mask(u_a, u_b, mask=None) -> np.ndarray:
    """Strong Pareto efficiency (Pareto 1906, "Manuale di economia politica") on feasible outcomes.

    Outcome k is efficient iff it is feasible and no feasible j has ``u_a[j] >= u_a[k]`` and
    ``u_b[j] >= u_b[k]`` with at least one strict inequality. Outcomes with identical utility
    pairs never dominate each other, so all copies of an undominated pair are marked True.

    O(K log K): sort by ``u_a`` descending (``u_b`` descending within ties). An outcome is
    undominated iff its ``u_b`` equals the largest ``u_b`` in its ``u_a`` group and is
    strictly larger than every ``u_b`` among outcomes with strictly larger ``u_a``.
    """
    ua, ub, feasible = _space(u_a, u_b, mask)
    out = np.zeros(ua.size, dtype=bool)
    idx = np.flatnonzero(feasible)
    if idx.size == 0:
        return out
    order = idx[np.lexsort((-ub[idx], -ua[idx]))]
    a, b = ua[order], ub[order]
    new_group = np.r_[True, a[1:] != a[:-1]]
    start = np.flatnonzero(new_group)[np.cumsum(new_group) - 1]  # first position of each group
    best_before = np.r_[-np.inf, np.maximum.accumulate(b)[:-1]]  # max u_b over earlier positions
    out[order] = (b == b[start]) & (b > best_before[start])
    return out


def individually_rational(u_a, u_b, r_a, r_b, mask=None) -> np.ndarray:
    """Individual rationality (participation constraint).

    True iff the outcome is feasible, ``u_a >= r_a`` and ``u_b >= r_b``. An outcome worth
    exactly the reservation utility counts as individually rational.
    """
    return _ir_space(u_a, u_b, r_a, r_b, mask)[-1]


def nash_solution(u_a, u_b, r_a, r_b, mask=None) -> int | None:
    """Discrete Nash bargaining solution (Nash 1950, "The Bargaining Problem", Econometrica 18).

    Returns the index maximising the Nash product ``(u_a - r_a) * (u_b - r_b)`` over the
    individually rational feasible outcomes, or None if there are none. Nash maximised over a
    convex set of lotteries; here the maximum is over the listed pure outcomes only. Ties go to
    the higher ``u_a + u_b``, then the lowest index. Within the IR set both gains are >= 0, so
    the product is monotone and the sum tie-break makes the result Pareto-optimal there.
    """
    ua, ub, r_a, r_b, ir = _ir_space(u_a, u_b, r_a, r_b, mask)
    return _argbest((ua - r_a) * (ub - r_b), ua, ub, ir)


def kalai_smorodinsky(u_a, u_b, r_a, r_b, mask=None) -> int | None:
    """Discrete Kalai-Smorodinsky solution (Kalai & Smorodinsky 1975, "Other Solutions to
    Nash's Bargaining Problem", Econometrica 43).

    Let IR be the individually rational feasible outcomes and ``I_a = max u_a``,
    ``I_b = max u_b`` over IR (the ideal point). Each party's normalised gain is
    ``g = (u - r) / (I - r)``, or 1 for every outcome if that party's ``I == r`` (no possible
    gain, no division by zero). The solution maximises ``min(g_a, g_b)`` over IR. This is the
    discrete version of the point where the line from the disagreement point to the ideal
    point meets the frontier. Ties go to the higher ``u_a + u_b``, then the lowest index. The
    gains are monotone in utility, so the result is Pareto-optimal within IR.
    Returns None if IR is empty.
    """
    ua, ub, r_a, r_b, ir = _ir_space(u_a, u_b, r_a, r_b, mask)
    if not ir.any():
        return None

    def gain(u: np.ndarray, r: float) -> np.ndarray:
        span = u[ir].max() - r
        return (u - r) / span if span > 0 else np.ones_like(u)

    score = np.minimum(gain(ua, r_a), gain(ub, r_b))
    return _argbest(score, ua, ub, ir)


def utilitarian_solution(u_a, u_b, r_a, r_b, mask=None) -> int | None:
    """Utilitarian solution (Harsanyi 1955 / Bentham): maximise ``u_a + u_b`` over the
    individually rational feasible outcomes. Ties go to the lowest index. Returns None if there
    are no such outcomes.
    """
    ua, ub, r_a, r_b, ir = _ir_space(u_a, u_b, r_a, r_b, mask)
    return _argbest(ua + ub, ua, ub, ir)


def compromise_position(positions, salience, capability) -> float:
    """Weighted-compromise prediction for one issue (compromise model: Achen 2006; the
    expected-utility literature of Bueno de Mesquita; a baseline in Thomson et al. 2006, "The
    European Union Decides").

    Returns ``sum(c * s * x) / sum(c * s)`` over parties, with position x, salience s and
    capability c. Weights must be finite and non-negative. Raises ValueError if all weights
    ``c * s`` are zero.
    """
    x = _vector(positions, "positions")
    s = _vector(salience, "salience")
    c = _vector(capability, "capability")
    if not x.shape == s.shape == c.shape:
        raise ValueError(
            "positions, salience and capability must have the same length, "
            f"got {x.size}, {s.size} and {c.size}"
        )
    if (s < 0).any() or (c < 0).any():
        raise ValueError("salience and capability must be non-negative")
    w = c * s
    total = w.sum()
    if total == 0:
        raise ValueError("all weights capability * salience are zero")
    return float((w * x).sum() / total)


def nearest_option(position, option_positions) -> int:
    """Index of the option whose position is closest to ``position`` (absolute distance). If
    several are equally close, the lowest index wins.
    """
    opts = _vector(option_positions, "option_positions")
    if opts.size == 0:
        raise ValueError("option_positions must not be empty")
    pos = float(position)
    if not np.isfinite(pos):
        raise ValueError(f"position must be finite, got {pos}")
    return int(np.argmin(np.abs(opts - pos)))  # argmin returns the first minimiser


def zopa_mask(u_a, u_b, r_a, r_b, winset_a, winset_b, mask=None) -> np.ndarray:
    """Zone of possible agreement (Raiffa 1982; the win-sets of Putnam's 1988 two-level games).

    True for an outcome that is feasible, in both win-sets (boolean arrays of shape (K,), the
    outcomes each side's domestic constituency would ratify) and individually rational for
    both parties (``u_a >= r_a`` and ``u_b >= r_b``).
    """
    ir = individually_rational(u_a, u_b, r_a, r_b, mask)
    return (
        ir
        & _bool_vector(winset_a, "winset_a", ir.size)
        & _bool_vector(winset_b, "winset_b", ir.size)
    )
