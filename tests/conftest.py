"""Shared test set-up."""

import pytest


@pytest.fixture(autouse=True)
def _private_results_store(tmp_path, monkeypatch):
    """Commands save experiments to the results store: keep each test's store private."""
    monkeypatch.setenv("NEGSIM_STORE", str(tmp_path / "results.duckdb"))
