"""The Rasa server's command line (``dit_assistant.rasa_cli``): a tracker store type in the
endpoints file that cannot be used stops the server from starting, instead of Rasa's silent
fall back to a store in memory."""

from __future__ import annotations

import pytest

from dit_assistant import rasa_cli
from dit_assistant.serve import BOT_DIR


def test_a_misconfigured_store_class_stops_the_rasa_server_from_starting(tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    shipped = ["run", "--endpoints", str(BOT_DIR / "endpoints.yml")]
    assert rasa_cli.tracker_store_problem(shipped) is None
    for store_type, problem in [
        ("dit_assistant.store.tracker_store.EncryptedTrakcerStore", "cannot be imported"),
        ("dit_assistant.no_such_module.Store", "cannot be imported"),
        ("dit_assistant.settings.Settings", "is not a Rasa tracker store"),
    ]:
        endpoints.write_text(f"tracker_store:\n  type: {store_type}\n")
        found = rasa_cli.tracker_store_problem(["run", "--endpoints", str(endpoints)])
        assert found and problem in found, found
        assert (
            rasa_cli.tracker_store_problem(["run", "actions", "--endpoints", str(endpoints)])
            is None
        )
    endpoints.write_text("tracker_store:\n  type: sql\n")
    assert rasa_cli.tracker_store_problem(["run", f"--endpoints={endpoints}"]) is None


def test_the_command_line_refuses_before_rasa_starts(tmp_path, monkeypatch, capsys):
    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text("tracker_store:\n  type: dit_assistant.store.nowhere.Store\n")
    monkeypatch.setattr("sys.argv", ["rasa_cli", "run", "--endpoints", str(endpoints)])
    with pytest.raises(SystemExit) as stopped:
        rasa_cli.main()
    assert stopped.value.code == 1
    assert "The Rasa server will not start: tracker_store type" in capsys.readouterr().err


def test_the_rasa_server_runs_the_encoder_and_tensorflow_on_one_thread_unless_told_otherwise():
    server = ["run", "--model", "models/dit-assistant.tar.gz"]
    assert rasa_cli.tensorflow_threads(server, {}) == {
        "DIT_ENCODER_THREADS": "1",
        "TF_NUM_INTRAOP_THREADS": "1",
        "TF_NUM_INTEROP_THREADS": "1",
    }
    # A deployer's own setting wins; training and the action server keep the defaults.
    assert rasa_cli.tensorflow_threads(
        server, {"TF_NUM_INTRAOP_THREADS": "2", "DIT_ENCODER_THREADS": "2"}
    ) == {"TF_NUM_INTEROP_THREADS": "1"}
    assert rasa_cli.tensorflow_threads(["train"], {}) == {}
    assert rasa_cli.tensorflow_threads(["run", "actions"], {}) == {}
