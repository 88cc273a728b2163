"""Play page: take one leader's seat against the agent, meeting by meeting.

Inside a class session (a :class:`sim.classroom.Seat` in ``st.session_state["class.seat"]``, set
by the Class page) the page plays the session's scenario with the seat's seed and side, and
saves the finished game to the session once.
"""

import streamlit as st
import yaml

from dashboard.common import compiled_for, edited, scenario_yaml, seed_input
from sim import classroom
from sim.play import Game
from sim.report import describe
from sim.runner import Runner
from sim.store import StoreError

st.title("Play")
seat: classroom.Seat | None = st.session_state.get(classroom.SEAT_KEY)
if seat is None:
    seed = seed_input()
    r = edited()
    if r is None:
        st.stop()
    s = r.scenario
    names = {pid: p.name for pid, p in s.parties.items()}
    side = st.radio("Your side", list(names), format_func=lambda p: f"{names[p]} "
                    f"({s.parties[p].leader.name})", horizontal=True, key="play.side")
    key = (r.sha256, seed, side)
else:
    seed, side = seat.seed, seat.side
    s = compiled_for(seat.scenario_text).scenario
    names = {pid: p.name for pid, p in s.parties.items()}
    key = ("class", seat.code, seat.key, seed, side)
    r = seat.resolved()  # the session's scenario, for the debrief report
    st.info(f"Class session {seat.code}: you play {names[side]} "
            f"({s.parties[side].leader.name}), seed {seed}. Your finished game is saved to "
            "the class (leave the class on the Class page to play on your own).")


def start() -> None:
    if seat is None:
        st.session_state["game"] = Game(Runner(yaml.safe_load(scenario_yaml(r))), seed, side)
    else:
        st.session_state["game"] = seat.game()
    st.session_state["game_key"] = key
    st.session_state["play.answer"] = None


# A new scenario, seed, side or class seat is a new game; so is the button.
if st.session_state.get("game_key") != key or st.button("Start a new game"):
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
    if st.button("Prepare the debrief report"):
        from sim.debrief import report_html

        with st.spinner("Running agent-vs-agent games to compare with…"):
            st.session_state["play.report"] = report_html(result, r, ensemble_runs=100)
    if st.session_state.get("play.report"):
        st.download_button("Download the debrief report (HTML, works offline)",
                           st.session_state["play.report"],
                           file_name=f"{s.name}-debrief-seed{seed}.html", mime="text/html")
    if seat is not None:  # save the finished game to the class, once
        saved = st.session_state.setdefault("class.saved", set())
        gid = classroom.game_id(seat, result)
        if gid not in saved:
            try:
                classroom.save_game(seat, result)
                saved.add(gid)
            except (classroom.ClassroomError, StoreError) as e:
                st.error(f"Could not save the game to class {seat.code}: {e}")
                st.button("Try saving again")
        if gid in saved:
            st.success(f"Saved to class session {seat.code}.")

if game.model.trace:
    with st.expander("The meetings so far", expanded=game.done):
        st.dataframe([{"meeting": e["round"], "offered by": names[e["proposer"]],
                       "offer": describe(e["offer"], s) if e["offer"] else "-",
                       "response": e["response"],
                       **{f"support {names[p]}": f"{v:.0%}" for p, v in e["support"].items()}}
                      for e in game.model.trace], hide_index=True)
