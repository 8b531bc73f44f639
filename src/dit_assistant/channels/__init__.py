"""Input channels of the Rasa server, registered by class path in ``bot/credentials.yml``.

Rasa's own channels for Telegram and Twilio accept any request, and its socket.io channel loses
bot replies when sessions persist. These subclasses fix that:

- ``socketio.SocketIOChannel``: the website widget (joins the session room properly).
- ``telegram.TelegramChannel``: checks ``X-Telegram-Bot-Api-Secret-Token``.
- ``twilio.TwilioChannel``: SMS and WhatsApp; checks ``X-Twilio-Signature``; buttons become
  numbered options and a reply of just the number picks one.
- ``facebook.FacebookChannel``: checks ``X-Hub-Signature-256`` in constant time.
- ``slack.SlackChannel``: checks the signing secret and the request's age.

What the four platforms do alike (settings, switching off, the webhook's verify-read-dispatch
flow, answering 200 when the bot fails, splitting answers) is ``platform.PlatformChannel`` and
``platform.PlatformOutput``; each platform module holds only what is particular to it.

Every platform reads its secrets from :mod:`dit_assistant.settings`, never from ``${VAR}`` in
``credentials.yml``: a platform whose variables are not all set is switched off (its webhook
answers 404) while the others keep working. Requests that fail verification get 403 and never
reach the bot; bodies that cannot be read get 400. Long answers are split at paragraph, line or
sentence boundaries to fit each platform's message limit.

Every channel hands its messages to ``guard.MessageGate`` (length limit, typed intents), the REST
channel (``rest.RestChannel``) reads its body strictly and sets ``input_channel`` itself, and no
channel logs message text.
"""

from dit_assistant.log_privacy import install

# The Rasa server imports this package: redact its logs even when it was started with plain
# ``rasa run`` rather than ``python -m dit_assistant.rasa_cli``.
install()
