"""Staff tools: the dashboard (``web.py``) and the ``dit-staff`` command line (``cli.py``).

Both run on the clinic's own machine, bind to 127.0.0.1 only, and go through
``dit_assistant.store`` for every read and change, so both are audited the same way.
"""
