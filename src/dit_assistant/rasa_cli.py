"""Rasa's command line, with the log redaction installed first.

``python -m dit_assistant.rasa_cli run ...`` is ``rasa run ...``.

``make run`` starts the Rasa server and the action server through this module, so that no log
record either process creates, from the first one on, carries conversation content
(:mod:`dit_assistant.log_privacy`).
"""

from __future__ import annotations

import sys

from dit_assistant.log_privacy import install


def main() -> None:
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *sys.argv[1:]]
    rasa_main()


if __name__ == "__main__":
    main()
