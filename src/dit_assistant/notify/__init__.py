"""Telling staff about enquiries: a notice per new enquiry and a daily digest, by email through
the clinic's SMTP server and optionally to a webhook; never with personal data.

``messages`` builds what is sent, ``transport`` sends it, ``delivery`` keeps track of what was
sent (the ``enquiry_notifications`` table), retries with back-off and runs in the background.
"""
