"""The enquiry store: models, migrations and the operations actions and staff tools use.

SQLite is the embedded default; PostgreSQL (or any SQLAlchemy URL) through ``DATABASE_URL``.
Callers use the functions here and never build SQL themselves.
"""

from dit_assistant.store.database import Database, open_database
from dit_assistant.store.models import SafetyEvent

__all__ = ["Database", "SafetyEvent", "open_database"]
