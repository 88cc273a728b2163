"""Theory page: the concepts of two-level bargaining, each tied to a number of this scenario."""

import streamlit as st

from dashboard import charts
from dashboard.common import compiled_for, edited, scenario_yaml
from sim.report import describe
from sim.scenario import TimeDependent

st.title("Theory, on this case")
r = edited()
if r is None:
    st.stop()
s = r.scenario
c = compiled_for(scenario_yaml(r))
an = c.analysis
names = {pid: p.name for pid, p in s.parties.items()}
a, b = c.ids
th = s.protocol.ratification

st.markdown(f"""
#### Two-level games (Putnam 1988)
Every deal must pass twice: at the table (level I), where **{s.parties[a].leader.name}** and
**{s.parties[b].leader.name}** bargain, and at home (level II), where each public decides what
it would ratify. Of the **{an['outcome_space_size']:,}** possible deals on this agenda:

#### Win-sets
A side's **win-set** is the set of deals its public would ratify now. Here
{names[a]}'s public would ratify **{an['winset_size'][a]}** deals (support at least
{th.get(a, 0):.0%}) and {names[b]}'s **{an['winset_size'][b]}** (at least {th.get(b, 0):.0%}).

#### Reservation value and BATNA
With no agreement the status quo holds. That is each leader's best alternative to a negotiated
agreement (BATNA); its value is the **reservation utility**: {names[a]} {an['reservation'][a]:.2f},
{names[b]} {an['reservation'][b]:.2f} (on a 0 to 1 scale). No leader signs a deal worth less.

#### The zone of possible agreement (ZOPA)
Deals inside both win-sets that both leaders prefer to no deal:
**{an['zopa_size']}** deals. {"An empty ZOPA is a deadlock: whatever the leaders want, no deal can "
"both be signed and ratified. Raising a leader's approval or lowering a ratification threshold "
"(Scenario page) is how one asks what it would take." if an['zopa_size'] == 0 else
"Deals are possible; whether they happen depends on tactics, time and luck (see Ensemble)."}
""")

st.markdown(f"""
#### Nash bargaining solution and Kalai–Smorodinsky
Ignoring the publics, the **Nash bargaining solution** maximises the product of both sides'
gains over no deal: {describe(an['nash'], s) if an['nash'] else 'none'}. The
**Kalai–Smorodinsky** solution gives each side the same share of its best possible gain:
{describe(an['kalai_smorodinsky'], s) if an['kalai_smorodinsky'] else 'none'}. The
**Pareto frontier** has {an['pareto_size']} deals: on it, neither side can gain without the other
losing.

#### The Schelling conjecture
A negotiator whose hands are tied at home can bargain harder: a narrower win-set should not
lower that side's share of the deals that still happen, though it makes deals rarer. Try it on
the Sweep page with {names[b]}'s ratification threshold.
""")

st.markdown("#### Boulware or conceder")
exps = {f"{p.leader.name} (e = {p.leader.strategy.exponent:g})": p.leader.strategy.exponent
        for p in s.parties.values() if isinstance(p.leader.strategy, TimeDependent)}
exps.update({"Boulware (e = 0.2)": 0.2, "conceder (e = 5)": 5.0})
st.markdown("A **Boulware** negotiator (exponent e < 1) holds out and concedes at the deadline; "
            "a **conceder** (e > 1) gives ground early. Each leader's aspiration falls from its "
            "best deal toward its reservation value over the meetings (Faratin, Sierra & "
            "Jennings 1998):")
st.altair_chart(charts.aspiration_curves(exps, s.protocol.rounds), width="stretch")
st.markdown("**Involuntary defection**: a deal signed at the table but rejected at home "
            "(status *signed not ratified*). **Salience**: how much an issue weighs in a "
            "leader's utility; `negsim show` lists every weight with its source.")
