"""``python -m dit_assistant.web``: serve the demo clinic page on 127.0.0.1 until stopped."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence

from dit_assistant.log_privacy import install as redact_logs
from dit_assistant.settings import get_settings
from dit_assistant.web import WEBCHAT_BUNDLE
from dit_assistant.web.server import HOST, make_server


def main(argv: Sequence[str] | None = None) -> int:
    redact_logs()
    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=settings.web_port)
    parser.add_argument(
        "--socket-url",
        default="http://127.0.0.1:5005",
        help="the Rasa server the widget connects to (its socket.io channel)",
    )
    args = parser.parse_args(argv)
    if not WEBCHAT_BUNDLE.exists():
        print(f"{WEBCHAT_BUNDLE} is missing: run `make web` first.", file=sys.stderr)
        return 1
    server = make_server(settings, args.port, args.socket_url)

    def _stop(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    print(f"Clinic page with the chat widget: http://{HOST}:{args.port}/", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
