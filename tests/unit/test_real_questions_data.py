"""The evidence base of real questions: large enough, split by web site, and only its train
part ever reaches the training data."""

from __future__ import annotations

import importlib.util
from collections import Counter
from importlib.machinery import SourceFileLoader

import yaml

from tests.fixtures.real_questions import REAL_QUESTIONS, load_expectations, load_questions

TRAINING = REAL_QUESTIONS.parents[1] / "bot" / "data" / "nlu"


def _domain(url: str) -> str:
    return url.split("/")[2].lower().removeprefix("www.")


def test_the_evidence_base_is_large_and_split_by_site():
    questions = load_questions()
    assert len(questions) >= 400
    parts = Counter(q.part for q in questions)
    assert set(parts) == {"train", "dev", "test"}
    assert 0.25 <= parts["test"] / len(questions) <= 0.35
    parts_of_site: dict[str, set[str]] = {}
    for question in questions:
        parts_of_site.setdefault(_domain(question.url), set()).add(question.part)
    shared = {site: parts for site, parts in parts_of_site.items() if len(parts) > 1}
    assert not shared, f"sites feeding two parts: {shared}"


def test_every_question_has_a_source_and_a_known_topic():
    topics = set(load_expectations()["topics"]) | {"unknown"}
    questions = load_questions()
    assert {q.topic for q in questions} <= topics
    assert all(q.url.startswith(("http://", "https://")) for q in questions)
    assert (REAL_QUESTIONS / "TOPICS.md").exists()


def _examples(path) -> set[str]:
    found: set[str] = set()
    for entry in yaml.safe_load(path.read_text("utf-8")).get("nlu") or []:
        for line in str(entry.get("examples") or "").splitlines():
            found.add(line.strip().removeprefix("- ").strip().lower())
    return found


def test_only_the_train_part_is_exported_as_training_data():
    exported = _examples(TRAINING / "real_questions.yml")
    held_out = {q.text.lower() for q in load_questions() if q.part in ("dev", "test")}
    assert not exported & held_out
    train_part = {q.text.lower() for q in load_questions("train")}
    assert exported <= train_part
    assert len(exported) >= 0.9 * len(train_part)


def test_hand_written_training_data_holds_no_held_out_question_beyond_the_obvious():
    """A few canonical questions ("what is DIT?") were training phrasings before any question
    was collected; nothing else of the dev or test parts may appear in the training data."""
    trained: set[str] = set()
    for path in TRAINING.glob("*.yml"):
        trained |= _examples(path)
    held_out = {q.text.lower() for q in load_questions() if q.part in ("dev", "test")}
    assert trained & held_out <= {
        "how does dit work?",
        "what is dit?",
        "what is dynamic interpersonal therapy?",
    }


def _near_copies_tool():
    """scripts/near-copies, loaded as a module (its file name has no .py)."""
    loader = SourceFileLoader("near_copies", str(TRAINING.parents[2] / "scripts" / "near-copies"))
    spec = importlib.util.spec_from_loader("near_copies", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_the_near_copy_check_finds_a_copy_and_leaves_other_wording_alone():
    tool = _near_copies_tool()
    messages = ["do you have any appointments in the evening after work?"]
    assert tool.near_copies(
        ["do you have appointments in the evening after work", "what does psychodynamic mean"],
        messages,
        tool.THRESHOLD,
    ) == [True, False]


def test_the_evaluation_messages_cover_the_test_part_of_the_real_questions():
    messages = set(_near_copies_tool().evaluation_messages())
    test_part = {q.text.strip().lower() for q in load_questions("test")}
    test_part = {text for text in test_part if len(text.split()) >= 3}
    assert test_part and test_part <= messages


TRAINING_ONLY_SOURCES = TRAINING.parents[1] / "sources" / "real_questions"


def _training_only() -> list[dict]:
    return [
        yaml.safe_load(path.read_text("utf-8"))
        for path in sorted(TRAINING_ONLY_SOURCES.glob("*.yml"))
    ]


def test_training_only_real_questions_share_no_site_with_the_evidence_base():
    """bot/sources/real_questions feeds training only: none of its web sites may be a source of
    any part of tests/real_questions/collected, so no tested question's site is trained on."""
    measured_sites = {_domain(q.url) for q in load_questions()}
    files = _training_only()
    assert files
    for raw in files:
        sources = {s["id"]: s for s in raw["sources"]}
        sites = {_domain(s["url"]) for s in sources.values()}
        assert not sites & measured_sites
        assert {q["source"] for q in raw["questions"]} <= set(sources)


def test_the_training_phrasings_of_real_questions_come_from_their_sources():
    collected = {q["text"].strip().lower() for raw in _training_only() for q in raw["questions"]}
    exported = _examples(TRAINING / "real_questions_more.yml") - {""}
    assert len(exported) >= 400
    assert exported <= collected
