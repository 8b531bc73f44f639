"""Rasa's command line, with the log redaction installed first.

``python -m dit_assistant.rasa_cli run ...`` is ``rasa run ...``.

``make run`` starts the Rasa server and the action server through this module, so that no log
record either process creates, from the first one on, carries conversation content
(:mod:`dit_assistant.log_privacy`).

Before the Rasa server starts, the tracker store named in its endpoints file is checked: Rasa
itself replaces a ``tracker_store`` type it cannot import with an in-memory store and only
warns, so a typo would silently lose every conversation at the next restart. Here the server
refuses to start instead. The same goes for the lock store: Rasa replaces a ``lock_store`` type
it cannot import with its in-memory lock, which would let several replicas handle one
conversation at once.

With ``REDIS_URL`` set, the credentials it holds are put into the Rasa server's environment
under the names the endpoints file uses for them (:mod:`dit_assistant.replicas`), so the file
itself never holds the password.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from dit_assistant.log_privacy import install

# Rasa's own names for its tracker stores (rasa.core.tracker_store._create_from_endpoint_config).
RASA_STORE_TYPES = frozenset({"redis", "mongod", "sql", "dynamo"})
# And for its lock stores (rasa.core.lock_store._create_from_endpoint_config).
RASA_LOCK_TYPES = frozenset({"redis", "in_memory"})
DEFAULT_ENDPOINTS = "endpoints.yml"


def _option(argv: Sequence[str], name: str) -> str | None:
    for index, arg in enumerate(argv):
        if arg == name and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith(f"{name}="):
            return arg.split("=", 1)[1]
    return None


def _is_rasa_server(argv: Sequence[str]) -> bool:
    """Whether these arguments start the Rasa server (``run``, not ``run actions``)."""
    return bool(argv) and argv[0] == "run" and not (len(argv) > 1 and argv[1] == "actions")


def tracker_store_problem(argv: Sequence[str]) -> str | None:
    """Why ``rasa run`` with these arguments must not start, or None when its stores are usable.

    Only the Rasa server (``run``, not ``run actions``) has a tracker store. No ``tracker_store``
    section is Rasa's in-memory store, deliberately chosen; a type that cannot be imported, or
    that is not a tracker store, is a mistake. The same for ``lock_store``.
    """
    if not _is_rasa_server(argv):
        return None
    path = Path(_option(argv, "--endpoints") or DEFAULT_ENDPOINTS)
    if not path.is_file():
        return None
    return _store_problem(path) or _lock_store_problem(path)


def _lock_store_problem(path: Path) -> str | None:
    from rasa.core.lock_store import LockStore
    from rasa.shared.utils.common import class_from_module_path
    from rasa.utils.endpoints import read_endpoint_config

    config = read_endpoint_config(str(path), "lock_store")
    lock_type = getattr(config, "type", None)
    if config is None or lock_type is None or lock_type in RASA_LOCK_TYPES:
        return None
    try:
        lock_class = class_from_module_path(lock_type)
    except (ImportError, AttributeError) as error:
        return f"lock_store type {lock_type!r} in {path} cannot be imported ({error})"
    if not (isinstance(lock_class, type) and issubclass(lock_class, LockStore)):
        return f"lock_store type {lock_type!r} in {path} is not a Rasa lock store"
    return None


def _store_problem(path: Path) -> str | None:
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.utils.common import class_from_module_path
    from rasa.utils.endpoints import read_endpoint_config

    config = read_endpoint_config(str(path), "tracker_store")
    store_type = getattr(config, "type", None)
    if config is None or store_type is None or store_type.lower() in RASA_STORE_TYPES:
        return None
    try:
        store_class = class_from_module_path(store_type)
    except (ImportError, AttributeError) as error:
        return f"tracker_store type {store_type!r} in {path} cannot be imported ({error})"
    if not (isinstance(store_class, type) and issubclass(store_class, TrackerStore)):
        return f"tracker_store type {store_type!r} in {path} is not a Rasa tracker store"
    return None


def redis_credentials(argv: Sequence[str]) -> dict[str, str]:
    """The environment variables the endpoints file names for ``REDIS_URL``'s credentials."""
    if not _is_rasa_server(argv):
        return {}
    from dit_assistant.replicas import credentials_environment
    from dit_assistant.settings import get_settings

    return credentials_environment(get_settings().redis_url)


def preload_model_readers() -> None:
    """Import skops, which reads the trained classifier, before anything imports TensorFlow.

    skops 0.9 (Rasa's pin) lists the types it trusts when it is first imported, looking each
    numpy function up across every module already loaded: about 1 s before TensorFlow's
    thousands of modules are there and about 6 s after, on every start of the Rasa server.
    """
    import skops.io  # noqa: F401


# The Rasa server answers one message at a time per process. With its default thread pools (one
# thread per core) the sentence encoder cost 13.3 ms of CPU a message for 10.2 ms of wall time on
# TensorFlow; with one thread, 10.4 ms of CPU for 10.8 ms: under load the cores go to other
# conversations instead (docs/deploy.md). The encoder now runs on ONNX Runtime
# (``DIT_ENCODER_THREADS``), the same way; TensorFlow, which Rasa still loads, gets one thread too.
# Training keeps the defaults (it encodes thousands of phrasings in batches).
SERVER_TENSORFLOW_THREADS = {
    "DIT_ENCODER_THREADS": "1",
    "TF_NUM_INTRAOP_THREADS": "1",
    "TF_NUM_INTEROP_THREADS": "1",
}


def tensorflow_threads(argv: Sequence[str], environ: Mapping[str, str]) -> dict[str, str]:
    """The encoder's and TensorFlow's thread settings for these arguments, where the environment
    sets none."""
    if not _is_rasa_server(argv):
        return {}
    return {name: value for name, value in SERVER_TENSORFLOW_THREADS.items() if name not in environ}


def main() -> None:
    if _is_rasa_server(sys.argv[1:]):
        os.environ.update(tensorflow_threads(sys.argv[1:], os.environ))
        preload_model_readers()
    install()
    os.environ.update(redis_credentials(sys.argv[1:]))
    problem = tracker_store_problem(sys.argv[1:])
    if problem:
        print(f"The Rasa server will not start: {problem}.", file=sys.stderr)
        raise SystemExit(1)
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
