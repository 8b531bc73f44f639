"""The clinical safety pack: one reviewable document of what the assistant says and why it is safe.

``make safety-case`` (``python -m dit_assistant.safety_case``) builds it under ``safety-case/``
from the live configuration and content: every reply filled with this clinic's profile and
region, the reviewed risk phrases, the region's helplines and specialist services, the latest
measured figures, and the hazard log with the tests that verify each control. The clinic's
Clinical Safety Officer signs it off with ``python -m dit_assistant.safety_case sign-off``, which
stores a content hash per item, so the next build says what changed since (see
``docs/clinical-safety/``).
"""
