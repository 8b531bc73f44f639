"""Fixtures every tier may use: the clinic configuration and a throwaway enquiry store.

The tiers add their own: ``tests/bot/conftest.py`` (the trained bot in process) and
``tests/e2e/conftest.py`` (the servers of ``make run``, the action server, PostgreSQL). Helpers
that are not fixtures live in ``tests/fixtures/``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from dit_assistant.rasa_cli import preload_model_readers
from dit_assistant.settings import RegionHelplines, Settings, get_settings, load_region_presets
from tests.fixtures.store import StoreEnvironment, make_store_environment


def pytest_configure(config: pytest.Config) -> None:
    """Before any test module imports TensorFlow, skops is imported (the Rasa server does the
    same, :func:`dit_assistant.rasa_cli.preload_model_readers`): the bot tier's model then
    loads about 5 s sooner.

    No test reads or creates the developer's own development key: every process the tests
    start (they inherit this environment) uses a throwaway one, unless it sets ENQUIRY_KEYS."""
    preload_model_readers()
    folder = tempfile.mkdtemp(prefix="dit-test-dev-key-")
    os.environ["DEV_ENQUIRY_KEY_FILE"] = str(Path(folder) / "dev-enquiry.key")
    config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


@pytest.fixture(scope="session")
def settings() -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def region_presets() -> dict[str, RegionHelplines]:
    return load_region_presets()


@pytest.fixture()
def store_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[StoreEnvironment]:
    """The enquiry store configured for one test: fresh keys, spool, var/ and SQLite file."""
    yield make_store_environment(monkeypatch, tmp_path)
    get_settings.cache_clear()
