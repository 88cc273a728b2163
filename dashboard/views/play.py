"""Play page: take one leader's seat against the agent, meeting by meeting."""

import streamlit as st
import yaml

from dashboard.common import edited, scenario_yaml, seed_input
from sim.play import Game
from sim.report import describe
from sim.runner import Runner

st.title("Play")
seed = seed_input()
r = edited()
if r is None:
    st.stop()
s = r.scenario
names = {pid: p.name for pid, p in s.parties.items()}
side = st.radio("Your side", list(names), format_func=lambda p: f"{names[p]} "
                f"({s.parties[p].leader.name})", horizontal=True, key="play.side")


def start() -> None:
    st.session_state["game"] = Game(Runner(yaml.safe_load(scenario_yaml(r))), seed, side)
    st.session_state["game_key"] = (r.sha256, seed, side)
    st.session_state["play.answer"] = None


# A new scenario, seed or side is a new game; so is the button.
if st.session_state.get("game_key") != (r.sha256, seed, side) or st.button("Start a new game"):
    start()
game: Game = st.session_state["game"]
other = game.other
me_name = s.parties[game.side].leader.name
them = s.parties[other].leader.name


def show_preview(p: dict) -> None:
    cols = st.columns(len(p["publics"]) + 1)
    for col, (pid, v) in zip(cols, p["publics"].items(), strict=False):
        col.metric(f"{names[pid]}: support", f"{v['support']:.0%}",
                   "would ratify" if v["would_ratify"] else "would not ratify",
                   delta_color="normal" if v["would_ratify"] else "inverse",
                   help=f"{v['threshold']:.0%} needed to ratify")
    label = f"Your utility (no deal: {p['your_reservation']:.2f})"
    cols[-1].metric(label, f"{p['your_utility']:.2f}")
    if "your_approval_after" in p:
        st.caption(f"Your approval after defending it at home: {p['your_approval_after']:.0%} "
                   f"(you will not survive below {p['your_approval_floor']:.0%}). "
                   f"Outcome class: {p['outcome_class']}.")


if not game.done:
    st.markdown(f"### Meeting {game.meeting} of {s.protocol.rounds}")
    for label in game.events:
        st.info(label)
    last = st.session_state.get("play.answer")
    if last:
        st.markdown(last)
    if game.proposing:
        st.markdown(f"**Your turn to make an offer to {them}.**")
        deal = {}
        cols = st.columns(2)
        for i, (issue, spec) in enumerate(s.agenda.issues.items()):
            deal[issue] = cols[i % 2].selectbox(
                spec.label, spec.options, index=spec.options.index(s.agenda.status_quo[issue]),
                key=f"play.{issue}")
        show_preview(game.preview(deal))
        c1, c2, c3 = st.columns(3)
        if c1.button("Send the offer", type="primary"):
            answer = game.propose(deal)
            verdict = "accepts" if answer["accept"] else "rejects"
            st.session_state["play.answer"] = f"**{them} {verdict}:** {answer['why']}"
            st.rerun()
        if c2.button("Make no offer"):
            game.propose(None)
            st.session_state["play.answer"] = None
            st.rerun()
        if c3.button("Walk away"):
            game.walk_away()
            st.rerun()
    else:
        k = game.agent_offer()
        if k is None:
            st.markdown(f"{them} makes no offer.")
            if st.button("Continue", type="primary"):
                game.respond(False)
                st.rerun()
        else:
            deal = game.model.space.decode(k)
            st.markdown(f"**{them} offers:** {describe(deal, s)}")
            st.caption(game.agent_note())
            show_preview(game.preview(deal))
            c1, c2, c3 = st.columns(3)
            if c1.button("Accept", type="primary"):
                game.respond(True)
                st.session_state["play.answer"] = None
                st.rerun()
            if c2.button("Reject"):
                game.respond(False)
                st.session_state["play.answer"] = None
                st.rerun()
            if c3.button("Walk away"):
                game.walk_away()
                st.rerun()
else:
    result = game.result()
    st.markdown(f"### {result.status.replace('_', ' ').capitalize()}: {result.outcome_class}")
    st.markdown(f'<p data-testid="negsim-reason">{result.reason}</p>', unsafe_allow_html=True)
    st.download_button("Download the game (RunResult JSON)", result.model_dump_json(indent=2),
                       file_name=f"{s.name}-game-seed{seed}.json", mime="application/json",
                       help=f"Replay it with `negsim play` and the same moves, or make a "
                            f"debrief report with `negsim report FILE`. You played {me_name}.")
    st.session_state["game_result"] = result.model_dump(mode="json")

if game.model.trace:
    with st.expander("The meetings so far", expanded=game.done):
        st.dataframe([{"meeting": e["round"], "offered by": names[e["proposer"]],
                       "offer": describe(e["offer"], s) if e["offer"] else "-",
                       "response": e["response"],
                       **{f"support {names[p]}": f"{v:.0%}" for p, v in e["support"].items()}}
                      for e in game.model.trace], hide_index=True)
