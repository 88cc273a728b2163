"""Class page: a teacher opens a class session, students join it with a code and play.

Teacher: open a session on the scenario being edited (a side rule and a seed policy, see
:mod:`sim.classroom`), show its code, and follow the class: every game's deal in the two
leaders' utility space, the outcome classes, a table and a CSV download. Student: enter the code
and a display name, see the seat (side and seed), and play it on the Play page, which saves the
finished game to the session once. Per-user state lives in ``st.session_state`` only
(``class.seat``, ``class.teacher_code``); what the class shares is in the results store.
"""

import altair as alt
import pandas as pd
import streamlit as st

from dashboard.common import compiled_for, edited, scenario_yaml
from sim import classroom
from sim.store import StoreError

TEACHER_KEY = "class.teacher_code"
ROLES = ("Student", "Teacher")
SEED_LABELS = {"class": "One seed for the whole class",
               "student": "One seed per student (from the code and the name)"}


def md(text: str) -> str:
    """Text shown in markdown as typed (a student's name is not markup)."""
    return "".join(f"\\{ch}" if ch in "\\`*_{}[]()<>#+-.!|~$" else ch for ch in str(text))


def big_code(code: str) -> None:
    # The code only has letters and digits from classroom.ALPHABET: safe as HTML.
    st.markdown(f'<div data-testid="negsim-class-code" style="font-size:4.5rem;'
                f'font-weight:700;letter-spacing:0.35em;font-family:monospace">{code}</div>',
                unsafe_allow_html=True)


def party_names(session: classroom.Session) -> dict[str, str]:
    s = compiled_for(session.scenario_text).scenario
    return {pid: f"{p.name} ({p.leader.name})" for pid, p in s.parties.items()}


# --------------------------------------------------------------------------- teacher

def new_session_form() -> None:
    r = edited()
    if r is None:
        return
    s = r.scenario
    names = {pid: f"{p.name} ({p.leader.name})" for pid, p in s.parties.items()}
    st.caption(f"Scenario: **{s.title}** (`{s.name}`), with your edits on the Scenario page. "
               "Every student plays exactly this scenario, even if the files change later.")
    rules = ["alternate", "random", *names]
    labels = {"alternate": "Alternate by join order", "random": "Random (balanced)",
              **{pid: f"Everyone plays {n}" for pid, n in names.items()}}
    rule = st.selectbox("Sides", rules, format_func=labels.get, key="class.rule")
    policy = st.radio("Seeds", list(SEED_LABELS), format_func=SEED_LABELS.get,
                      key="class.policy", horizontal=True)
    seed = st.number_input("Class seed", min_value=0, max_value=classroom.SEED_LIMIT - 1,
                           value=0, step=1, key="class.seed", disabled=policy != "class")
    if st.button("Create the class session", type="primary"):
        try:
            session = classroom.create_session(scenario_yaml(r), side_rule=rule,
                                               seed_policy=policy, seed=int(seed))
        except (classroom.ClassroomError, StoreError) as e:
            st.error(str(e))
            return
        st.session_state[TEACHER_KEY] = session.code
        st.rerun()


def open_session_form() -> None:
    code = st.text_input("Session code", max_chars=12, key="class.open_code")
    if st.button("Open the session"):
        try:
            st.session_state[TEACHER_KEY] = classroom.get_session(code).code
        except (classroom.ClassroomError, StoreError) as e:
            st.error(str(e))
            return
        st.rerun()


def deals_chart(session: classroom.Session, frame: pd.DataFrame,
                names: dict[str, str]) -> alt.LayerChart:
    """Every game's deal in the two leaders' utility space (a game without a deal sits at the
    status quo), coloured by outcome class and sized by the number of games there."""
    c = compiled_for(session.scenario_text)
    a, b = c.ids
    (ua, ra), (ub, rb) = c.base_utilities[a], c.base_utilities[b]
    xa, xb = f"utility {a}", f"utility {b}"
    cloud = pd.DataFrame({xa: ua, xb: ub}).drop_duplicates()
    scale = alt.Scale(domain=[0, 1])
    x = alt.X(f"{xa}:Q", scale=scale, title=f"{names[a]}: utility")
    y = alt.Y(f"{xb}:Q", scale=scale, title=f"{names[b]}: utility")
    grey = alt.Chart(cloud).mark_circle(size=10, opacity=0.25, color="#c7c7c7").encode(x=x, y=y)
    points = (frame.groupby([xa, xb, "outcome class"], as_index=False)
              .agg(games=("student", "size"),
                   students=("student", lambda v: ", ".join(list(v)[:8])
                             + (" ..." if len(v) > 8 else ""))))
    games = alt.Chart(points).mark_circle(opacity=0.85, stroke="black", strokeWidth=0.5).encode(
        x=x, y=y, color=alt.Color("outcome class:N", scale=alt.Scale(scheme="tableau10"),
                                  legend=alt.Legend(orient="bottom", columns=2)),
        size=alt.Size("games:Q", scale=alt.Scale(range=[80, 900]), legend=None),
        tooltip=["outcome class", "games", "students", alt.Tooltip(f"{xa}:Q", format=".2f"),
                 alt.Tooltip(f"{xb}:Q", format=".2f")])
    sq = pd.DataFrame({xa: [ra], xb: [rb], "label": ["status quo"]})
    sq_mark = alt.Chart(sq).mark_point(shape="cross", size=250, filled=True,
                                       color="black").encode(x=x, y=y, tooltip=["label"])
    sq_text = alt.Chart(sq).mark_text(dx=10, dy=-10, align="left").encode(x=x, y=y,
                                                                        text="label")
    return alt.layer(grey, games, sq_mark, sq_text).properties(height=440)


def class_bars(summary: dict) -> alt.Chart:
    frame = pd.DataFrame([{"outcome class": k, "games": v["count"], "share": v["share"]}
                          for k, v in summary["outcome_class"].items()])
    return alt.Chart(frame).mark_bar().encode(
        y=alt.Y("outcome class:N", sort="-x", title=""),
        x=alt.X("games:Q", axis=alt.Axis(tickMinStep=1)),
        color=alt.Color("outcome class:N", scale=alt.Scale(scheme="tableau10"), legend=None),
        tooltip=["outcome class", "games", alt.Tooltip("share:Q", format=".0%")],
    ).properties(height=40 * len(frame) + 30)


def class_results(code: str) -> None:
    try:
        session = classroom.get_session(code)
        games = classroom.games(code)
        seats = classroom.seats(code)
    except (classroom.ClassroomError, StoreError) as e:
        st.error(str(e))
        return
    names = party_names(session)
    big_code(session.code)
    rule = (f"everyone plays {names[session.side_rule]}" if session.side_rule in names
            else f"sides {session.side_rule}")
    seeds = (f"class seed {session.seed}" if session.seed_policy == "class"
             else "one seed per student")
    st.caption(f"Students: open the Class page, choose *Student*, enter this code and a display "
               f"name. Scenario `{session.scenario_name}`; {rule}; {seeds}.")
    st.button("Refresh", help="Show the games saved since the page was drawn.")
    summary = classroom.summarize(games, session.parties)
    cols = st.columns(2 + len(session.parties))
    cols[0].metric("Students joined", len(seats))
    cols[1].metric("Games finished", summary["games"])
    for col, pid in zip(cols[2:], session.parties, strict=True):
        mean = summary["sides"][pid]["mean_utility"]
        col.metric(f"Mean utility as {names[pid].split(' (')[0]}",
                   "-" if mean is None else f"{mean:.2f}",
                   help=f"The utility for {names[pid]} in the {summary['sides'][pid]['games']} "
                        "games students played on that side.")
    if not games:
        st.info("No finished games yet: press Refresh when students have played.")
        return
    rows = []
    for g in games:
        r = g["result"]
        rows.append({"student": g["name"], "seat": g["seat"], "side": names[g["side"]],
                     "seed": g["seed"], "attempt": g["attempt"],
                     "status": g["status"].replace("_", " "), "outcome class": g["outcome_class"],
                     "round": g["round"],
                     **{f"utility {p}": r["utility"][p] for p in session.parties}})
    frame = pd.DataFrame(rows)
    left, right = st.columns([3, 2])
    with left:
        st.markdown("#### The class's deals in utility space")
        st.caption("Grey: every possible deal. Circles: the games' outcomes (bigger: more "
                   "games), coloured by outcome class. Cross: the status quo (no deal).")
        st.altair_chart(deals_chart(session, frame, names), width="stretch")
    with right:
        st.markdown("#### Outcome classes")
        st.altair_chart(class_bars(summary), width="stretch")
        st.dataframe(pd.DataFrame([{"status": k.replace("_", " "), "games": v["count"],
                                    "share": f"{v['share']:.0%}"}
                                   for k, v in summary["status"].items()]), hide_index=True)
    st.markdown("#### Games")
    st.dataframe(frame, hide_index=True)
    st.download_button("Download the games (CSV)",
                       classroom.csv_text(games, session.parties),
                       file_name=f"negsim-class-{session.code}.csv", mime="text/csv",
                       help="One row per game: student, side, seed, outcome, utilities, deal, "
                            "moves.")


def teacher() -> None:
    code = st.session_state.get(TEACHER_KEY)
    with st.expander("New class session", expanded=code is None):
        new_session_form()
    with st.expander("Open an existing session"):
        open_session_form()
    if code:
        class_results(code)


# --------------------------------------------------------------------------- student

def student() -> None:
    seat: classroom.Seat | None = st.session_state.get(classroom.SEAT_KEY)
    if seat is None:
        st.text_input("Class code", max_chars=12, key="class.code_in",
                      placeholder="e.g. K7QX2M")
        st.text_input("Display name", max_chars=classroom.NAME_MAX, key="class.name_in",
                      help="A first name or a nickname: this name is all that is stored "
                           "(no account, no other personal data). The same name is the same "
                           "seat: if a classmate has your name, add an initial.")
        if st.button("Join", type="primary"):
            try:
                seat = classroom.join(st.session_state.get("class.code_in", ""),
                                      st.session_state.get("class.name_in", ""))
            except (classroom.ClassroomError, StoreError) as e:
                st.error(str(e))
                return
            st.session_state[classroom.SEAT_KEY] = seat
            st.rerun()
        return
    s = compiled_for(seat.scenario_text).scenario
    party = s.parties[seat.side]
    st.success(f"You joined class **{seat.code}** as **{md(seat.name)}** (seat {seat.number}).")
    c1, c2 = st.columns(2)
    c1.metric("Your side", f"{party.name} ({party.leader.name})")
    c2.metric("Your seed", seat.seed)
    st.caption(f"Scenario: {s.title}. On the Play page you play {party.leader.name}; the "
               "finished game is saved to the class.")
    b1, b2 = st.columns(2)
    if b1.button("Play", type="primary"):
        st.switch_page("views/play.py")
    if b2.button("Leave the class session"):
        del st.session_state[classroom.SEAT_KEY]
        st.rerun()


st.title("Class")
# The role outlives the radio (whose state Streamlit drops while another page is shown).
role = st.radio("I am", ROLES, horizontal=True, key="class.role",
                index=ROLES.index(st.session_state.get("class.last_role", ROLES[0])))
st.session_state["class.last_role"] = role
if role == "Teacher":
    teacher()
else:
    student()
