"""Enquiries without a database server: references people can read out over the phone, and
drafts the store refuses (on SQLite)."""

from __future__ import annotations

from datetime import datetime

import pytest

from dit_assistant.store import open_database, submit_enquiry
from dit_assistant.store.enquiries import REFERENCE_ALPHABET, new_reference, normalise_reference
from tests.fixtures.store import REFERENCE, count_rows, draft


@pytest.mark.parametrize(
    "change",
    [
        {"contact_method": "pigeon"},
        {"preferred_name": "  "},
        {"consent_at": datetime(2026, 1, 1)},
        {"privacy_notice_version": ""},
    ],
)
def test_invalid_drafts_are_refused(store_env, change):
    database = open_database(store_env.database_url)
    with pytest.raises(ValueError):
        submit_enquiry(draft(**change), database)
    assert count_rows(database) == 0


def test_references_are_short_and_unambiguous():
    references = {new_reference() for _ in range(2000)}
    assert len(references) > 1990
    assert all(REFERENCE.match(r) for r in references)
    assert not set("".join(r[4:] for r in references)) & set("01OI")
    assert set(REFERENCE_ALPHABET) == set("".join(r[4:] for r in references))
    assert normalise_reference(" dit-7k3q9 ") == "DIT-7K3Q9"
    assert normalise_reference("7k3q9") == "DIT-7K3Q9"
