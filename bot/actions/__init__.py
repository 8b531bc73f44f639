"""Custom actions, served by the action server (``rasa run actions`` from ``bot/``).

One module per concern; they read clinic facts through ``dit_assistant.settings`` and store data
through the ``dit_assistant`` package, never building SQL themselves.
"""

from dit_assistant.log_privacy import install

# The action server imports this package: its logs are redacted however it was started.
install()


def _start_notifications() -> None:
    """Staff notices are sent from the action server, the process that stores enquiries, by a
    background thread (``dit_assistant.notify.delivery``); off when nothing is configured."""
    import logging

    from dit_assistant.notify.delivery import start_notifier
    from dit_assistant.settings import ConfigurationError

    try:
        start_notifier()
    except Exception as error:  # noqa: BLE001 - the actions, crisis ones first, must still load
        reason = str(error) if isinstance(error, ConfigurationError) else type(error).__name__
        logging.getLogger(__name__).error("staff notifications could not start (%s)", reason)


_start_notifications()
