"""Names of the enquiry form's parts, shared by its actions and the conversation store.

The actions (``bot/actions/intake.py``) fill and clear these slots; the conversation store
(``dit_assistant.store.tracker_store``) removes what was typed into them from the stored
conversation once the enquiry has ended. Both read the names from here, so they cannot drift.
"""

from __future__ import annotations

FORM_NAME = "intake_form"
FORM_SLOTS = (
    "intake_adult",
    "intake_name",
    "intake_contact_method",
    "intake_contact_detail",
    "intake_best_times",
    "intake_help_with",
    "intake_consent",
    "intake_confirmed",
)
PERSONAL_SLOTS = ("intake_name", "intake_contact_detail", "intake_best_times", "intake_help_with")
"""The slots that hold what a person typed about themselves: who they are, how to reach them,
when, and what they would like help with."""
ENDING_ACTIONS = ("action_submit_intake", "action_cancel_intake")
"""The actions that end an enquiry: saved (or spooled), closed after a refusal or an under-18
answer, or cancelled. Each clears the form's slots when it succeeds."""
