"""The clinical safety pack (dit_assistant.safety_case): built from the live content, every reply
filled, every reviewed phrase and hazard present, the hazard log's tests existing, and the changes
since a sign-off named. No model, no server, no subprocess: git's history is replaced by "not in
git" here (tests/e2e/test_safety_case.py builds it with git and Chromium)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import yaml
from markupsafe import escape

from dit_assistant.safety_case.__main__ import describe_changes, main
from dit_assistant.safety_case.content import (
    FIGURES,
    HAZARD_LOG,
    SIGN_OFF,
    Pack,
    PackError,
    build_pack,
    read_domain,
    unfilled_placeholders,
)
from dit_assistant.safety_case.document import HTML_NAME, render_html
from dit_assistant.safety_case.hazards import (
    HazardLogError,
    missing_tests,
    parse_hazard_log,
    risk_rating,
)
from dit_assistant.safety_case.history import NOT_IN_GIT, History
from dit_assistant.safety_case.signoff import (
    SignOff,
    SignOffError,
    changes_since,
    read_sign_offs,
    record_sign_off,
)
from dit_assistant.settings import PROJECT_ROOT
from tests.fixtures.domain import domain_yaml, load_domain

DOMAIN = domain_yaml()
PATTERNS = yaml.safe_load(
    (PROJECT_ROOT / "src" / "dit_assistant" / "safety" / "patterns.yml").read_text("utf-8")
)
YOUNG_PERSON_REPLIES = (
    "utter_crisis",
    "utter_crisis_abuse",
    "utter_crisis_overdose",
    "utter_risk_check",
)
# The hazards the issue asks for, by id in docs/clinical-safety/hazard-log.yml, with a word of
# each title.
REQUIRED_HAZARDS = {
    "H01": "crisis reply",
    "H02": "delayed",
    "H03": "helplines",
    "H04": "conversation is lost",
    "H05": "enquiry is lost",
    "H06": "personal data",
    "H07": "wrong fact",
    "H08": "suits them",
    "H09": "ordinary question",
    "H10": "young person",
}


@pytest.fixture(scope="module")
def pack() -> Pack:
    return build_pack(PROJECT_ROOT, env={}, history=History())


@pytest.fixture(scope="module")
def document(pack: Pack) -> str:
    return render_html(pack, changes_since([], pack.fingerprint), [])


def shown(text: str) -> str:
    """``text`` as it stands in the HTML document."""
    return str(escape(text))


def test_the_pack_holds_every_reply_filled_with_no_placeholder_left(pack, document):
    replies = {reply.name: reply for reply in pack.replies}
    for name, variations in DOMAIN["responses"].items():
        assert name in replies, name
        assert len(replies[name].variants) == len(variations), name
        assert f"<code>{name}</code>" in document
        for variant in replies[name].variants:
            assert shown(variant.text.splitlines()[0]) in document, name
    assert unfilled_placeholders(pack) == []
    # Filled with this clinic's profile, buttons included.
    greeting = pack.reply("utter_greet").variants[0]
    assert pack.clinic.name in greeting.text and pack.region.emergency in greeting.text
    assert "What is DIT?" in greeting.buttons
    # Replies written in code are there too.
    assert {"message too long", "messages too fast", "a custom action failed"} <= set(replies)
    assert pack.clinic.phone in replies["messages too fast"].variants[0].text


def test_the_pack_shows_the_young_persons_variations_of_the_crisis_replies(pack, document):
    young_lines = [s.contact for s in pack.region.young_people]
    assert young_lines
    for name in YOUNG_PERSON_REPLIES:
        young, *_, adult = pack.reply(name).variants
        assert young.condition and "under 18" in young.condition
        assert adult.condition == "in every other case"
        assert all(line in young.text for line in young_lines), name
        assert not any(line in adult.text for line in young_lines), name
        assert pack.region.emergency in young.text and pack.region.emergency in adult.text
        assert shown(young.text.splitlines()[0]) in document
    assert "Once the conversation has said the person is under 18" in document


def test_the_pack_holds_every_reviewed_phrase_by_category(pack, document):
    categories = {c.name: c for c in pack.phrases.categories}
    assert [c.name for c in pack.phrases.categories][: len(PATTERNS["priority"])] == PATTERNS[
        "priority"
    ]
    for name, phrases in PATTERNS["categories"].items():
        assert list(categories[name].phrases) == phrases
        assert f"<code>{name}</code> ({len(phrases)})" in document
        for phrase in phrases:
            assert f"<li>{shown(phrase)}</li>" in document, phrase
    for name, exceptions in PATTERNS["exceptions"].items():
        assert list(categories[name].exceptions) == exceptions
        for phrase in exceptions:
            assert f"<li>{shown(phrase)}</li>" in document, phrase
    assert "How a phrase is read" in document


def test_the_pack_lists_the_regions_helplines_and_specialist_services(pack, document):
    region = pack.region
    assert shown(region.emergency) in document
    for service in (*region.helplines, *region.young_people):
        assert f"<strong>{shown(service.name)}</strong>: {shown(service.contact)}" in document
    for services in region.specialist_services.values():
        for service in services:
            assert shown(service.contact) in document
    # A region with no reviewed specialist services says so rather than showing an empty list.
    us = build_pack(PROJECT_ROOT, env={"CLINIC_REGION": "us"}, history=History())
    us_document = render_html(us, changes_since([], us.fingerprint), [])
    assert us.region.key == "us" and shown(us.region.emergency) in us_document
    assert "none reviewed for this region" in us_document
    assert us.fingerprint.sections["crisis_routes"] != pack.fingerprint.sections["crisis_routes"]
    assert "CLINIC_REGION" in us.overrides


def test_the_pack_holds_every_hazard_with_its_tests(pack, document):
    hazards = {hazard.id: hazard for hazard in pack.hazards}
    for hazard_id, words in REQUIRED_HAZARDS.items():
        assert words in hazards[hazard_id].title.lower(), hazard_id
    for hazard in pack.hazards:
        assert f'id="{hazard.id}"' in document and shown(hazard.title) in document
        assert hazard.causes and hazard.residual_risk.notes
        assert any(control.tests for control in hazard.controls)
        for test in hazard.tests:
            assert f"<code>{test}</code>" in document


def test_every_test_the_hazard_log_and_the_figures_name_exists(pack):
    named = [*(t for h in pack.hazards for t in h.tests), *(f.test for f in pack.figures)]
    assert len(named) > 50
    assert missing_tests(named, PROJECT_ROOT) == []


def test_a_hazard_naming_a_test_that_does_not_exist_is_caught(tmp_path):
    tests = tmp_path / "tests" / "unit"
    tests.mkdir(parents=True)
    (tests / "test_here.py").write_text(
        "def test_a():\n    pass\n\n"
        "async def test_b():\n    pass\n\n"
        "class TestGroup:\n    def test_c(self):\n        pass\n\n"
        "def helper():\n    pass\n\n"
        "def test_d_is_only_a_string():\n    'def test_hidden(): pass'\n"
    )
    present = [
        "tests/unit/test_here.py",
        "tests/unit/test_here.py::test_a",
        "tests/unit/test_here.py::test_b",
        "tests/unit/test_here.py::test_a[england]",
        "tests/unit/test_here.py::TestGroup::test_c",
    ]
    absent = [
        "tests/unit/test_here.py::test_gone",
        "tests/unit/test_here.py::helper",
        "tests/unit/test_here.py::test_hidden",
        "tests/unit/test_here.py::TestGroup::test_gone",
        "tests/unit/test_elsewhere.py::test_a",
        "tests/unit/test_here.py::test_gone",
    ]
    assert missing_tests([*present, *absent], tmp_path) == absent[:-1]


def test_building_the_pack_refuses_a_hazard_log_naming_a_missing_test(tmp_path):
    copy = checkout_copy(tmp_path)
    log = copy / HAZARD_LOG
    log.write_text(
        log.read_text("utf-8").replace(
            "tests/unit/test_safety_net.py::test_overrides_the_fallback_verdict",
            "tests/unit/test_safety_net.py::test_that_was_renamed",
        ),
        "utf-8",
    )
    with pytest.raises(PackError, match="test_safety_net.py::test_that_was_renamed"):
        build_pack(copy, env={}, history=History())


def test_every_hazard_holds_what_a_hazard_log_needs():
    def log(**changes: object) -> dict[str, object]:
        hazard: dict[str, object] = {
            "id": "H01",
            "title": "t",
            "description": "d",
            "harm": "h",
            "causes": ["c"],
            "controls": [{"control": "x", "tests": ["tests/unit/test_x.py::test_y"]}],
            "initial_risk": {"severity": "major", "likelihood": "high"},
            "residual_risk": {"severity": "major", "likelihood": "low", "notes": "n"},
        }
        return {"hazards": [{**hazard, **changes}]}

    assert parse_hazard_log(log())[0].residual_risk.rating == 3
    with pytest.raises(HazardLogError, match="names the tests"):
        parse_hazard_log(log(controls=[{"control": "x"}]))
    with pytest.raises(HazardLogError, match="no control names a test"):
        parse_hazard_log(log(controls=[{"control": "x", "owner": "clinic"}]))
    with pytest.raises(HazardLogError, match="severity"):
        parse_hazard_log(log(initial_risk={"severity": "awful", "likelihood": "high"}))
    with pytest.raises(HazardLogError, match="causes"):
        parse_hazard_log(log(causes=[]))
    twice = log()
    twice["hazards"] = twice["hazards"] * 2  # type: ignore[operator]
    with pytest.raises(HazardLogError, match="used twice"):
        parse_hazard_log(twice)


def test_risk_ratings_follow_the_clinical_risk_matrix():
    assert risk_rating("minor", "very low") == 1
    assert risk_rating("catastrophic", "very high") == 5
    assert risk_rating("major", "low") == 3
    assert risk_rating("considerable", "medium") == 3
    assert risk_rating("significant", "high") == 3
    assert risk_rating("catastrophic", "very low") == 3
    assert risk_rating("minor", "very high") == 3


def test_the_pack_shows_the_measured_figures_with_date_and_commit(pack, document):
    recorded = yaml.safe_load((PROJECT_ROOT / FIGURES).read_text("utf-8"))["figures"]
    assert {f.id for f in pack.figures} == {f["id"] for f in recorded}
    ids = {f.id for f in pack.figures}
    assert {"heldout_risk_recall", "benign_heldout_alarms", "real_questions_answerable"} <= ids
    for figure in pack.figures:
        assert f"{figure.count} of {figure.total}" in document
        assert figure.measured in document and figure.commit[:12] in document
        assert len(figure.commit) == 40
    assert "later changes unknown" in document  # no git here


def test_without_git_the_files_say_not_in_git(tmp_path):
    copy = checkout_copy(tmp_path)
    pack = build_pack(copy, env={}, history=History())
    assert pack.commit is None
    assert {file.last_changed for _, file in pack.files} <= {NOT_IN_GIT, "not there yet"}
    assert dict(pack.files)["Sign-offs"].last_changed == "not there yet"
    document = render_html(pack, changes_since([], pack.fingerprint), [])
    assert "from commit <code>not in git</code>" in document
    assert "Not signed off yet" in document


def checkout_copy(tmp_path: Path) -> Path:
    """What the pack reads, copied: content, configuration, clinical-safety files, test files."""
    copy = tmp_path / "checkout"
    for folder in ("bot/data/rules", "bot/data/stories", "bot/domain", "docs/clinical-safety"):
        shutil.copytree(PROJECT_ROOT / folder, copy / folder)
    shutil.copytree(
        PROJECT_ROOT / "bot" / "actions",
        copy / "bot" / "actions",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    for file in ("bot/config.yml", "config/clinic.yml"):
        (copy / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PROJECT_ROOT / file, copy / file)
    for test in (PROJECT_ROOT / "tests").rglob("test_*.py"):
        target = copy / test.relative_to(PROJECT_ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(test, target)
    return copy


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), "utf-8")


@pytest.fixture()
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the checkout the command line reads, without git, with no CLINIC_* override."""
    for name in list(os.environ):
        if name.startswith("CLINIC_") or name == "SAFETY_SIGN_OFF_FILE":
            monkeypatch.delenv(name)
    return checkout_copy(tmp_path)


def build(checkout: Path, *extra: str) -> int:
    return main(["--root", str(checkout), "build", "--pdf", "no", *extra])


def sign_off(checkout: Path, pack_hash: str, *extra: str) -> int:
    return main(
        [
            "--root",
            str(checkout),
            "sign-off",
            "--pack-hash",
            pack_hash,
            "--name",
            "Dr Alex Example",
            "--role",
            "Clinical Safety Officer",
            "--decision",
            "approved",
            "--date",
            "2026-12-03",
            *extra,
        ]
    )


def printed_hash(capsys: pytest.CaptureFixture[str]) -> str:
    """The pack hash the last build printed."""
    return capsys.readouterr().out.split("pack hash ")[-1].split()[0]


def current_hash(checkout: Path) -> str:
    return build_pack(checkout, env={}, history=History()).fingerprint.pack


def test_changes_since_the_sign_off_are_named(checkout, capsys):
    assert build(checkout) == 0
    assert "Not signed off yet" in capsys.readouterr().out
    assert sign_off(checkout, current_hash(checkout)[:12], "--notes", "Reviewed in full") == 0
    recorded = read_sign_offs(checkout / SIGN_OFF)
    assert [(s.name, s.decision, s.notes) for s in recorded] == [
        ("Dr Alex Example", "approved", "Reviewed in full")
    ]
    capsys.readouterr()
    assert build(checkout) == 0
    assert (
        "Unchanged since the last sign-off: approved by Dr Alex Example" in capsys.readouterr().out
    )

    edit(checkout / "config" / "clinic.yml", '"020 7946 0000"', '"020 7946 0999"')
    edit(
        checkout / "bot" / "domain" / "conversation.yml",
        "Take care of yourself.",
        "Take good care of yourself.",
    )
    edit(
        checkout / HAZARD_LOG,
        "initial_risk: {severity: major, likelihood: high}",
        "initial_risk: {severity: catastrophic, likelihood: high}",
    )
    pack = build_pack(checkout, env={}, history=History())
    changes = {c.section: c for c in changes_since(recorded, pack.fingerprint).sections}
    assert set(changes) == {"clinic_profile", "replies", "hazards"}
    assert changes["clinic_profile"].changed == ("phone",)
    assert changes["hazards"].changed == ("H01",)
    replies = changes["replies"].changed
    assert "utter_goodbye" in replies and "utter_crisis" in replies  # the phone is in both
    assert "utter_ask_what_is_dit" not in replies and not changes["replies"].added

    capsys.readouterr()
    assert build(checkout) == 0
    out = capsys.readouterr().out
    assert "Changed since the last sign-off (approved by Dr Alex Example" in out
    assert "  - Clinic profile: changed: phone" in out
    assert "  - Hazard log: changed: H01" in out
    document = (checkout / "safety-case" / HTML_NAME).read_text("utf-8")
    assert "Changed since the last sign-off" in document and "utter_goodbye" in document


def test_a_new_and_a_removed_reply_are_named(checkout):
    before = build_pack(checkout, env={}, history=History())
    signed = SignOff("A", "CSO", "2026-12-03", "approved", "", None, before.fingerprint)
    edit(checkout / "bot" / "domain" / "conversation.yml", "  utter_thank:", "  utter_thanks:")
    after = build_pack(checkout, env={}, history=History())
    (change,) = changes_since([signed], after.fingerprint).sections
    assert (change.section, change.added, change.removed) == (
        "replies",
        ("utter_thanks",),
        ("utter_thank",),
    )
    assert describe_changes(changes_since([signed], after.fingerprint))[1] == (
        "  - Every reply: new: utter_thanks; removed: utter_thank"
    )


def test_the_replies_are_every_file_of_the_domain_folder_as_rasa_merges_them(pack, checkout):
    rasa_domain = load_domain()
    assert sorted(r.name for r in pack.replies if r.from_domain) == sorted(rasa_domain.responses)
    assert read_domain(PROJECT_ROOT).raw["responses"] == rasa_domain.responses
    assert pack.reply("utter_crisis").source == "bot/domain/safety.yml"
    assert pack.reply("utter_greet").group == "Conversation"
    assert not pack.reply("message too long").from_domain
    # A reply written in two files would leave one of them unused: the pack refuses it.
    with (checkout / "bot" / "domain" / "faq.yml").open("a", encoding="utf-8") as faq:
        faq.write("\n  utter_thank:\n    - text: Glad to help.\n")
    with pytest.raises(PackError, match="utter_thank is written in both"):
        build_pack(checkout, env={}, history=History())


def test_a_sign_off_must_quote_the_hash_of_the_content_now(checkout, capsys):
    reviewed = current_hash(checkout)
    edit(checkout / "config" / "clinic.yml", "within two working days", "within a week")
    assert sign_off(checkout, reviewed) == 2
    assert "changed since the document you reviewed" in capsys.readouterr().err
    now = current_hash(checkout)
    assert sign_off(checkout, now[:6]) == 2
    assert "at least the first 12 characters" in capsys.readouterr().err
    assert sign_off(checkout, now, "--date", "3 December") == 2
    assert not (checkout / SIGN_OFF).exists()
    assert sign_off(checkout, now) == 0
    assert len(read_sign_offs(checkout / SIGN_OFF)) == 1


def test_require_sign_off_fails_until_the_content_is_signed_off(checkout, capsys):
    assert build(checkout, "--require-sign-off") == 3
    assert sign_off(checkout, printed_hash(capsys)) == 0
    assert build(checkout, "--require-sign-off") == 0
    goodbye = checkout / "bot" / "domain" / "conversation.yml"
    edit(goodbye, "Take care of yourself.", "Look after yourself.")
    assert build(checkout, "--require-sign-off") == 3
    # A second sign-off is kept after the first, and the latest one counts.
    assert sign_off(checkout, printed_hash(capsys)) == 0
    assert len(read_sign_offs(checkout / SIGN_OFF)) == 2
    assert build(checkout, "--require-sign-off") == 0


def test_content_the_officer_did_not_approve_never_counts_as_signed_off(checkout, capsys):
    assert sign_off(checkout, current_hash(checkout), "--decision", "not approved") == 0
    capsys.readouterr()
    assert build(checkout, "--require-sign-off") == 3
    assert "It is not approved for use." in capsys.readouterr().out
    document = (checkout / "safety-case" / HTML_NAME).read_text("utf-8")
    assert "It is not approved for use." in document


def test_a_sign_off_needs_a_name_a_role_and_a_known_decision(tmp_path, pack):
    pack_fingerprint = pack.fingerprint
    for name, role, decision in (("", "CSO", "approved"), ("A", "CSO", "fine by me")):
        with pytest.raises(SignOffError):
            record_sign_off(
                tmp_path / "s.yml",
                SignOff(name, role, "2026-12-03", decision, "", None, pack_fingerprint),
            )
    assert not (tmp_path / "s.yml").exists()


def test_the_pack_shows_the_overdose_reply_for_someone_else(pack, document):
    variants = pack.reply("utter_crisis_overdose").variants
    [other] = [v for v in variants if v.condition and "someone else" in v.condition]
    assert pack.region.emergency in other.text and "even if they seem okay" in other.text
    assert shown(other.text.splitlines()[0]) in document


@pytest.mark.parametrize("reply", ["utter_crisis", "utter_risk_check"])
def test_the_pack_shows_the_crisis_reply_and_check_in_for_someone_else(pack, document, reply):
    variants = pack.reply(reply).variants
    [other] = [v for v in variants if v.condition and "someone else" in v.condition]
    assert pack.region.emergency in other.text and "Are you safe yourself" in other.text
    assert shown(other.text.splitlines()[0]) in document
