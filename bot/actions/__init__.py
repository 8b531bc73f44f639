"""Custom actions, served by the action server (``rasa run actions`` from ``bot/``).

One module per concern; they read clinic facts through ``dit_assistant.settings`` and store data
through the ``dit_assistant`` package, never building SQL themselves.
"""
