"""`negsim brief` and `negsim report` from the command line."""

from __future__ import annotations

from typer.testing import CliRunner

from sim.cli import app


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_brief_public_and_confidential(tmp_path):
    public = invoke("brief", "baseline", "--side", "japan")
    secret = invoke("brief", "baseline", "--side", "japan", "--confidential")
    assert public.exit_code == secret.exit_code == 0
    assert "public brief" in public.stdout and "reservation utility" not in public.stdout
    assert "reservation utility" in secret.stdout
    html = invoke("brief", "baseline", "--side", "russia", "--format", "html", "--out",
                  tmp_path / "b.html")
    assert html.exit_code == 0 and (tmp_path / "b.html").read_text().startswith("<!")


def test_brief_bad_side_is_a_usage_error():
    r = invoke("brief", "baseline", "--side", "usa")
    assert r.exit_code == 2 and "japan" in r.stderr and "Traceback" not in r.stderr


def test_report_from_a_run_file(tmp_path):
    result = tmp_path / "r.json"
    run = invoke("run", "baseline", "--seed", 2, "--out", result)
    assert run.exit_code == 0
    r = invoke("report", result, "--out", tmp_path / "r.html", "--runs", 10)
    assert r.exit_code == 0, r.stderr
    page = (tmp_path / "r.html").read_text()
    assert "What happened in reality" in page and "https://" not in page.split("<body")[0]


def test_report_of_an_edited_run_needs_its_scenario(tmp_path):
    result = tmp_path / "r.json"
    invoke("run", "baseline", "--seed", 5, "--set", "protocol.ratification.russia=0.2",
           "--out", result)
    bad = invoke("report", result, "--out", tmp_path / "x.html", "--runs", 0)
    assert bad.exit_code == 2 and not (tmp_path / "x.html").exists()
    good = invoke("report", result, "--out", tmp_path / "x.html", "--runs", 0, "--set",
                  "protocol.ratification.russia=0.2")
    assert good.exit_code == 0, good.stderr
