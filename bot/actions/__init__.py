"""Custom actions, served by the action server (``rasa run actions`` from ``bot/``).

One module per concern; they read clinic facts through ``dit_assistant.settings`` and store data
through the ``dit_assistant`` package, never building SQL themselves.
"""

from dit_assistant.log_privacy import install

# The action server imports this package: its logs are redacted however it was started.
install()
