"""The enquiry store: models, migrations and the operations actions and staff tools use.

SQLite is the embedded default; PostgreSQL (or any SQLAlchemy URL) through ``DATABASE_URL``.
Callers use the functions here and never build SQL themselves.
"""

from dit_assistant.store.database import Database, open_database
from dit_assistant.store.enquiries import (
    EnquiryDraft,
    SubmitResult,
    default_database,
    new_reference,
    normalise_reference,
    replay_spool,
    submit_enquiry,
)
from dit_assistant.store.management import (
    EnquiryFilter,
    EnquiryNotFound,
    EnquiryRecord,
    add_note,
    delete_enquiry,
    get_enquiry,
    list_enquiries,
    purge_expired,
    rotate_keys,
    set_status,
)
from dit_assistant.store.models import CONTACT_METHODS, STATUSES, SafetyEvent

__all__ = [
    "CONTACT_METHODS",
    "STATUSES",
    "Database",
    "EnquiryDraft",
    "EnquiryFilter",
    "EnquiryNotFound",
    "EnquiryRecord",
    "SafetyEvent",
    "SubmitResult",
    "add_note",
    "default_database",
    "delete_enquiry",
    "get_enquiry",
    "list_enquiries",
    "new_reference",
    "normalise_reference",
    "open_database",
    "purge_expired",
    "replay_spool",
    "rotate_keys",
    "set_status",
    "submit_enquiry",
]
