"""Telegram, Twilio (SMS and WhatsApp), Messenger and Slack through the real Rasa server.

The server is started the way ``make run`` starts it, with test credentials in the environment
and every platform's API pointed at a local fake that records what the bot sends (one server for
this folder: ``conftest.channels``). Each platform gets realistic webhook payloads: correctly
signed (answered), wrongly signed (403, never reaches the bot) and malformed (400).
"""
