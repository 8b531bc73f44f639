"""Starts the assistant on this machine, on 127.0.0.1: the action server, the Rasa server, the
demo clinic page with the chat widget and the staff dashboard.

``make run`` calls this. It waits until every server answers, prints where to chat, starts a
server again if it dies (the others carry on meanwhile), and stops them all cleanly on Ctrl-C
or SIGTERM. With ``--chat`` it opens a terminal chat instead
(``make chat``).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from dit_assistant.paths import BOT_DIR, HOST, MODEL, PROJECT_ROOT
from dit_assistant.replicas import lock_store_endpoint
from dit_assistant.settings import get_settings
from dit_assistant.settings.environment import parse_port
from dit_assistant.terminal_chat import run_terminal_chat
from dit_assistant.web import WEBCHAT_BUNDLE

DEFAULT_RASA_PORT = 5005
STARTUP_TIMEOUT_S = 180
STOP_TIMEOUT_S = 20
# A server that dies is started again at once, unless it has already been restarted this many
# times within the window: then something is wrong that restarting will not fix, and everything
# stops with a message rather than looping.
MAX_RESTARTS = 5
RESTART_WINDOW_S = 300.0


def _environment() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        RASA_TELEMETRY_ENABLED="false",
        SANIC_HOST=HOST,  # the action server has no interface flag: without this it binds 0.0.0.0
        TF_CPP_MIN_LOG_LEVEL="3",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
    )
    return env


def _rasa(*args: str) -> list[str]:
    """Rasa's command line, with log redaction installed before Rasa logs anything."""
    debug = ["--debug"] if get_settings().log_level == "DEBUG" else []
    return [sys.executable, "-m", "dit_assistant.rasa_cli", *args, *debug]


def action_server_command(port: int) -> list[str]:
    return _rasa("run", "actions", "--actions", "actions", "--port", str(port))


def runtime_endpoints(action_port: int, var_dir: Path, redis_url: str | None = None) -> Path:
    """``bot/endpoints.yml`` with the action server at the configured port (``ACTION_PORT``).

    The file in ``bot/`` documents the default (5055); this copy is what the Rasa server reads,
    so a clinic (or a test run beside another) can move the port without editing ``bot/``.
    With ``REDIS_URL`` set it also names Rasa's Redis lock store, so that several Rasa replicas
    never handle one conversation at once (:mod:`dit_assistant.replicas`); ``redis_url``
    defaults to the settings'.
    """
    import yaml

    endpoints = yaml.safe_load((BOT_DIR / "endpoints.yml").read_text("utf-8"))
    endpoints["action_endpoint"] = {
        **endpoints.get("action_endpoint", {}),
        "url": f"http://{HOST}:{action_port}/webhook",
    }
    lock_store = lock_store_endpoint(get_settings().redis_url if redis_url is None else redis_url)
    if lock_store is not None:
        endpoints["lock_store"] = lock_store
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / "endpoints.yml"
    path.write_text(yaml.safe_dump(endpoints, sort_keys=False), "utf-8")
    return path


def rasa_server_command(
    port: int,
    model: Path = MODEL,
    cors: Sequence[str] = (),
    endpoints: Path = BOT_DIR / "endpoints.yml",
) -> list[str]:
    """``cors``: origins of pages allowed to call the server from a browser (the widget)."""
    return _rasa(
        "run",
        "--model",
        str(model),
        "--endpoints",
        str(endpoints),
        "--credentials",
        str(BOT_DIR / "credentials.yml"),
        "--interface",
        HOST,
        "--port",
        str(port),
        *(["--cors", *cors] if cors else []),
    )


def web_server_command(port: int, socket_url: str) -> list[str]:
    """The demo clinic page with the chat widget (``dit_assistant.web``)."""
    return [
        sys.executable,
        "-m",
        "dit_assistant.web",
        "--port",
        str(port),
        "--socket-url",
        socket_url,
    ]


def dashboard_command(port: int) -> list[str]:
    """The staff dashboard (``dit_assistant.staff``), on 127.0.0.1 only."""
    verbose = ["--verbose"] if get_settings().log_level == "DEBUG" else []
    return [sys.executable, "-m", "dit_assistant.staff", *verbose, "serve", "--port", str(port)]


def wait_until_up(url: str, processes: Sequence[subprocess.Popen], timeout: float) -> None:
    """Poll ``url`` until it answers; fail early if one of ``processes`` has died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for process in processes:
            if process.poll() is not None:
                command = process.args
                name = (
                    " ".join(map(str, command[2:4]))
                    if isinstance(command, (list, tuple))
                    else str(command)
                )
                raise RuntimeError(f"{name} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")


def stop(processes: Sequence[subprocess.Popen]) -> None:
    """SIGTERM everything, then SIGKILL what has not exited in time."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class Supervised:
    """One of ``make run``'s servers, started again when it dies.

    Without this, one crashed server (the action server, say) stopped every other one, so crisis
    replies stopped too; now the others carry on and the dead one comes back.
    """

    name: str
    command: list[str]
    cwd: Path
    env: dict[str, str]
    process: subprocess.Popen | None = None
    restarts: deque[float] = field(default_factory=deque)

    def start(self) -> subprocess.Popen:
        self.process = subprocess.Popen(self.command, cwd=self.cwd, env=self.env)
        return self.process

    def keep_running(self, now: float) -> bool:
        """Restart the server if it has died; False if it died too often to try again."""
        if self.process is None or self.process.poll() is None:
            return True
        while self.restarts and now - self.restarts[0] > RESTART_WINDOW_S:
            self.restarts.popleft()
        if len(self.restarts) >= MAX_RESTARTS:
            print(
                f"The {self.name} stopped {MAX_RESTARTS + 1} times within "
                f"{RESTART_WINDOW_S:.0f} s; stopping everything.",
                file=sys.stderr,
                flush=True,
            )
            return False
        print(
            f"The {self.name} stopped (exit code {self.process.returncode}); starting it again.",
            file=sys.stderr,
            flush=True,
        )
        self.restarts.append(now)
        self.start()
        return True


def serve(rasa_port: int) -> int:
    settings = get_settings()  # fail now, with a clear message, if the configuration is unusable
    if not MODEL.exists():
        print(f"No trained model at {MODEL}: run `make train` first.", file=sys.stderr)
        return 1
    if not WEBCHAT_BUNDLE.exists():
        print(f"No chat widget at {WEBCHAT_BUNDLE}: run `make web` first.", file=sys.stderr)
        return 1
    env = _environment()
    base = f"http://{HOST}:{rasa_port}"
    web_url = f"http://{HOST}:{settings.web_port}"
    action_port = settings.action_port
    endpoints = runtime_endpoints(action_port, settings.var_dir)
    servers = [
        Supervised("action server", action_server_command(action_port), BOT_DIR, env),
        Supervised(
            "Rasa server",
            rasa_server_command(
                rasa_port, cors=settings.allowed_widget_origins, endpoints=endpoints
            ),
            BOT_DIR,
            env,
        ),
        Supervised("website", web_server_command(settings.web_port, base), PROJECT_ROOT, env),
        Supervised(
            "staff dashboard", dashboard_command(settings.dashboard_port), PROJECT_ROOT, env
        ),
    ]
    processes = [server.start() for server in servers]

    def _on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _on_signal)
    try:
        wait_until_up(f"http://{HOST}:{action_port}/health", processes, STARTUP_TIMEOUT_S)
        wait_until_up(f"http://{HOST}:{rasa_port}/", processes, STARTUP_TIMEOUT_S)
        wait_until_up(f"{web_url}/", processes, STARTUP_TIMEOUT_S)
        dashboard_url = f"http://{HOST}:{settings.dashboard_port}"
        wait_until_up(f"{dashboard_url}/health", processes, STARTUP_TIMEOUT_S)
        print(
            "\nThe DIT assistant is running.\n"
            f"  Chat over REST:  curl -s -X POST {base}/webhooks/rest/webhook "
            "-H 'Content-Type: application/json' "
            '-d \'{"sender": "me", "message": "hello"}\'\n'
            f"  Socket.IO:       {base}/socket.io\n"
            f"  Clinic page:     {web_url}/ (a demo page with the chat widget)\n"
            f"  Action server:   http://{HOST}:{action_port}\n"
            f"  Staff dashboard: {dashboard_url}/ (accounts: dit-staff create-user NAME)\n"
            "  Terminal chat:   make chat (in another terminal, while this one runs)\n"
            "Press Ctrl-C to stop.\n",
            flush=True,
        )
        while all(server.keep_running(time.monotonic()) for server in servers):
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        print("\nStopping...", flush=True)
        return 0
    except (RuntimeError, TimeoutError) as error:
        print(f"Could not start: {error}", file=sys.stderr)
        return 1
    finally:
        stop([server.process for server in servers if server.process is not None])


def chat(rasa_port: int) -> int:
    """A terminal chat against the running server, or a self-contained one if none is running."""
    return run_terminal_chat(f"http://{HOST}:{rasa_port}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    rasa_port = parse_port(os.environ.get("RASA_PORT") or DEFAULT_RASA_PORT, "RASA_PORT")
    parser.add_argument("--port", type=int, default=rasa_port)
    parser.add_argument("--chat", action="store_true", help="chat in this terminal")
    args = parser.parse_args(argv)
    return chat(args.port) if args.chat else serve(args.port)


if __name__ == "__main__":
    sys.exit(main())
