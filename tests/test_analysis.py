"""Tests for sim.analysis: plain-Python O(K^2) brute force on random spaces plus worked examples."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.analysis import (
    compromise_position,
    individually_rational,
    kalai_smorodinsky,
    nash_solution,
    nearest_option,
    pareto_mask,
    utilitarian_solution,
    zopa_mask,
)

# --- independent brute force (plain Python, no sim.analysis calls) ---------------------------


def bf_pareto(ua, ub, feas):
    def dominates(j, k):
        return ua[j] >= ua[k] and ub[j] >= ub[k] and (ua[j] > ua[k] or ub[j] > ub[k])

    idx = [k for k in range(len(ua)) if feas[k]]
    return [feas[k] and not any(dominates(j, k) for j in idx) for k in range(len(ua))]


def bf_ir(ua, ub, ra, rb, feas):
    return [feas[k] and ua[k] >= ra and ub[k] >= rb for k in range(len(ua))]


def bf_best(score, ua, ub, cands):
    """Max score, then max u_a + u_b, then lowest index; None if no candidates."""
    if not cands:
        return None
    return max(cands, key=lambda k: (score(k), ua[k] + ub[k], -k))


def bf_nash(ua, ub, ra, rb, feas):
    ir = [k for k, ok in enumerate(bf_ir(ua, ub, ra, rb, feas)) if ok]
    return bf_best(lambda k: (ua[k] - ra) * (ub[k] - rb), ua, ub, ir)


def bf_ks(ua, ub, ra, rb, feas):
    ir = [k for k, ok in enumerate(bf_ir(ua, ub, ra, rb, feas)) if ok]
    if not ir:
        return None
    ia, ib = max(ua[k] for k in ir), max(ub[k] for k in ir)

    def gain(u, r, ideal):
        return (u - r) / (ideal - r) if ideal > r else 1.0

    return bf_best(lambda k: min(gain(ua[k], ra, ia), gain(ub[k], rb, ib)), ua, ub, ir)


def bf_utilitarian(ua, ub, ra, rb, feas):
    ir = [k for k, ok in enumerate(bf_ir(ua, ub, ra, rb, feas)) if ok]
    return bf_best(lambda k: ua[k] + ub[k], ua, ub, ir)


# --- random spaces on a coarse grid (multiples of 0.05) so ties are frequent -----------------

grid = st.integers(0, 20).map(lambda i: i / 20)
reservation = st.integers(-2, 22).map(lambda i: i / 20)  # sometimes above every utility


@st.composite
def spaces(draw):
    k = draw(st.integers(1, 40))
    ua = draw(st.lists(grid, min_size=k, max_size=k))
    ub = draw(st.lists(grid, min_size=k, max_size=k))
    mask = draw(st.none() | st.lists(st.booleans(), min_size=k, max_size=k))
    return ua, ub, mask, draw(reservation), draw(reservation)


def feasible(mask, k):
    return [True] * k if mask is None else mask


def as_mask(mask):
    return None if mask is None else np.array(mask, dtype=bool)


@given(spaces())
def test_pareto_mask_matches_brute_force(space):
    ua, ub, mask, _, _ = space
    got = pareto_mask(np.array(ua), np.array(ub), as_mask(mask))
    assert got.dtype == bool
    assert got.tolist() == bf_pareto(ua, ub, feasible(mask, len(ua)))


@given(spaces())
def test_individually_rational_matches_brute_force(space):
    ua, ub, mask, ra, rb = space
    got = individually_rational(np.array(ua), np.array(ub), ra, rb, as_mask(mask))
    assert got.tolist() == bf_ir(ua, ub, ra, rb, feasible(mask, len(ua)))


@pytest.mark.parametrize(
    ("solution", "brute"),
    [
        (nash_solution, bf_nash),
        (kalai_smorodinsky, bf_ks),
        (utilitarian_solution, bf_utilitarian),
    ],
)
@given(space=spaces())
def test_solution_matches_brute_force(solution, brute, space):
    ua, ub, mask, ra, rb = space
    got = solution(np.array(ua), np.array(ub), ra, rb, as_mask(mask))
    assert got is None or type(got) is int
    assert got == brute(ua, ub, ra, rb, feasible(mask, len(ua)))


@pytest.mark.parametrize("solution", [nash_solution, kalai_smorodinsky, utilitarian_solution])
@given(space=spaces())
def test_solution_is_pareto_optimal_within_ir(solution, space):
    ua, ub, mask, ra, rb = space
    ir = bf_ir(ua, ub, ra, rb, feasible(mask, len(ua)))
    got = solution(np.array(ua), np.array(ub), ra, rb, as_mask(mask))
    if not any(ir):
        assert got is None
        return
    assert ir[got]
    assert bf_pareto(ua, ub, ir)[got]


@given(spaces(), st.data())
def test_zopa_mask_matches_brute_force(space, data):
    ua, ub, mask, ra, rb = space
    k = len(ua)
    wa = data.draw(st.lists(st.booleans(), min_size=k, max_size=k))
    wb = data.draw(st.lists(st.booleans(), min_size=k, max_size=k))
    got = zopa_mask(np.array(ua), np.array(ub), ra, rb, np.array(wa), np.array(wb), as_mask(mask))
    ir = bf_ir(ua, ub, ra, rb, feasible(mask, k))
    assert got.tolist() == [ir[i] and wa[i] and wb[i] for i in range(k)]


@given(st.floats(-2, 2), st.lists(st.integers(-8, 8).map(lambda i: i / 4), min_size=1))
def test_nearest_option_matches_brute_force(position, options):
    dist = [abs(o - position) for o in options]
    assert nearest_option(position, np.array(options)) == dist.index(min(dist))


# --- hand-checked examples ----------------------------------------------------------------


def test_empty_ir_set_gives_none():
    ua, ub = np.array([0.2, 0.9]), np.array([0.9, 0.2])
    for solution in (nash_solution, kalai_smorodinsky, utilitarian_solution):
        assert solution(ua, ub, 0.5, 0.5) is None  # nobody clears both reservations
        assert solution(ua, ub, 0.0, 0.0, np.array([False, False])) is None
    assert not individually_rational(ua, ub, 0.5, 0.5).any()


def test_empty_space():
    empty = np.array([])
    assert pareto_mask(empty, empty).shape == (0,)
    assert nash_solution(empty, empty, 0.0, 0.0) is None
    assert kalai_smorodinsky(empty, empty, 0.0, 0.0) is None


def test_pareto_keeps_duplicates_and_respects_mask():
    ua = np.array([0.5, 0.5, 0.3, 0.9, 0.2])
    ub = np.array([0.5, 0.5, 0.6, 0.1, 0.6])  # 4 is dominated by 2; 0 and 1 are identical
    assert pareto_mask(ua, ub).tolist() == [True, True, True, True, False]
    mask = np.array([True, True, False, True, True])  # dropping 2 makes 4 efficient
    assert pareto_mask(ua, ub, mask).tolist() == [True, True, False, True, True]


def test_ties_prefer_higher_sum_then_lowest_index():
    # KS scores all equal 0.4 (I = 1 for both, r = 0); outcome 0 is dominated, sums 0.8/1.4/1.4.
    ua, ub = np.array([0.4, 1.0, 0.4]), np.array([0.4, 0.4, 1.0])
    assert kalai_smorodinsky(ua, ub, 0.0, 0.0) == 1
    # Nash products all 0.25; sums 1.0/1.25/1.25 -> higher sum, then lowest index.
    ua, ub = np.array([0.5, 0.25, 1.0]), np.array([0.5, 1.0, 0.25])
    assert nash_solution(ua, ub, 0.0, 0.0) == 1
    assert utilitarian_solution(ua[::-1], ub[::-1], 0.0, 0.0) == 0
    # Identical outcomes: lowest index for every concept.
    same = np.array([0.5, 0.5, 0.5])
    for solution in (nash_solution, kalai_smorodinsky, utilitarian_solution):
        assert solution(same, same, 0.0, 0.0, np.array([False, True, True])) == 1


def test_dominated_outcome_never_wins_a_rounded_sum_tie():
    # 0.5 + 2**-53 dominates 0.5, but both sums round to exactly 1.5 in float64.
    ua, ub = np.array([0.5, 0.5 + 2**-53]), np.array([1.0, 1.0])
    assert ua[0] + ub[0] == ua[1] + ub[1]
    assert utilitarian_solution(ua, ub, 0.0, 0.0) == 1


def test_ks_party_without_possible_gain_counts_as_one():
    # B's ideal equals r_b, so only A's normalised gain matters: pick A's best.
    ua, ub = np.array([0.2, 0.8, 0.5]), np.array([0.3, 0.3, 0.3])
    assert kalai_smorodinsky(ua, ub, 0.0, 0.3) == 1


def test_divide_the_dollar_linear():
    # u_a = x, u_b = 1 - x, r = 0: Nash product x(1-x) and KS min(x, 1-x) both peak at x = 0.5.
    x = np.arange(11) / 10
    assert nash_solution(x, 1 - x, 0.0, 0.0) == 5
    assert kalai_smorodinsky(x, 1 - x, 0.0, 0.0) == 5
    assert pareto_mask(x, 1 - x).all()


def test_divide_the_dollar_concave():
    x = np.arange(11) / 10
    ub = np.sqrt(1 - x)
    # Nash: continuous max of x*sqrt(1-x) at x = 2/3. On the grid:
    #   0.6*sqrt(0.4) = 0.3795, 0.7*sqrt(0.3) = 0.3834, 0.8*sqrt(0.2) = 0.3578 -> x = 0.7.
    assert nash_solution(x, ub, 0.0, 0.0) == 7
    assert 0.7 * math.sqrt(0.3) > 0.6 * math.sqrt(0.4)
    # KS: ideal point (1, 1), so maximise min(x, sqrt(1-x)); continuous root x = 0.618. Grid:
    #   0.5 -> min(0.5, 0.707) = 0.5, 0.6 -> min(0.6, 0.632) = 0.6, 0.7 -> min(0.7, 0.548) = 0.548
    #   -> x = 0.6.
    assert kalai_smorodinsky(x, ub, 0.0, 0.0) == 6


def test_nash_1950_bill_and_jack():
    # Nash (1950), Econometrica 18, p. 161: Bill and Jack barter without money. Each good
    # is listed as (value to Bill, value to Jack). The disagreement point is no trade (0, 0).
    bills = {"book": (2, 4), "whip": (2, 2), "ball": (2, 1), "bat": (2, 2), "box": (4, 1)}
    jacks = {"pen": (10, 1), "toy": (4, 1), "knife": (6, 2), "hat": (2, 2)}
    goods = list(bills) + list(jacks)
    trades = list(itertools.product([False, True], repeat=len(goods)))  # True: good changes hands
    u_bill, u_jack = [], []
    for trade in trades:
        moved = [g for g, t in zip(goods, trade, strict=True) if t]
        u_bill.append(sum(-bills[g][0] if g in bills else jacks[g][0] for g in moved))
        u_jack.append(sum(bills[g][1] if g in bills else -jacks[g][1] for g in moved))
    k = nash_solution(np.array(u_bill), np.array(u_jack), 0.0, 0.0)
    # Nash's answer: Bill gives book, whip, ball, bat; Jack gives pen, toy, knife. Gains (12, 5).
    moved = {g for g, t in zip(goods, trades[k], strict=True) if t}
    assert moved == {"book", "whip", "ball", "bat", "pen", "toy", "knife"}
    assert (u_bill[k], u_jack[k]) == (12, 5)


def test_compromise_position_three_parties():
    # Weights c*s = 2*1, 4*0.5, 1*1 = 2, 2, 1 -> (2*0 + 2*50 + 1*100) / 5 = 40.
    assert compromise_position([0.0, 50.0, 100.0], [1.0, 0.5, 1.0], [2.0, 4.0, 1.0]) == 40.0
    # A party with zero salience has no pull: (3*10 + 1*30) / 4 = 15.
    assert compromise_position([10.0, 90.0, 30.0], [1.0, 0.0, 1.0], [3.0, 5.0, 1.0]) == 15.0
    with pytest.raises(ValueError, match="zero"):
        compromise_position([0.0, 1.0], [0.0, 1.0], [1.0, 0.0])
    with pytest.raises(ValueError, match="same length"):
        compromise_position([0.0, 1.0], [1.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="non-negative"):
        compromise_position([0.0, 1.0], [1.0, -1.0], [1.0, 1.0])


def test_nearest_option_ties_lowest_index():
    assert nearest_option(0.5, np.array([0.0, 0.75, 0.25])) == 1
    assert nearest_option(0.5, np.array([0.0, 0.25, 0.75])) == 1
    assert nearest_option(-3.0, [1.0, 2.0]) == 0
    with pytest.raises(ValueError, match="empty"):
        nearest_option(0.0, [])


def test_shape_validation():
    ua, ub = np.array([0.1, 0.2]), np.array([0.3, 0.4])
    with pytest.raises(ValueError, match="same length"):
        pareto_mask(ua, np.array([0.3]))
    with pytest.raises(ValueError, match="1-D"):
        nash_solution(np.ones((2, 2)), np.ones((2, 2)), 0.0, 0.0)
    with pytest.raises(ValueError, match="mask must have shape"):
        kalai_smorodinsky(ua, ub, 0.0, 0.0, np.array([True]))
    with pytest.raises(ValueError, match="boolean"):
        individually_rational(ua, ub, 0.0, 0.0, np.array([1, 0]))
    with pytest.raises(ValueError, match="winset_b"):
        zopa_mask(ua, ub, 0.0, 0.0, np.array([True, True]), np.array([True]))
    with pytest.raises(ValueError, match="finite"):
        utilitarian_solution(np.array([np.nan, 0.2]), ub, 0.0, 0.0)
