"""The safety-net component on its own: it fires on reviewed phrases, typos included, and
overrides the classifier however confident the classifier was."""

from __future__ import annotations

import re
import time

import pytest
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY

from dit_assistant.safety.component import SAFETY_NET_KEY, YOUNG_PERSON_ENTITY, SafetyNet
from dit_assistant.safety.detector import RiskDetector, get_detector, load_spec
from tests.fixtures.messages import classified


@pytest.fixture(scope="module")
def detector() -> RiskDetector:
    return get_detector()


@pytest.fixture(scope="module")
def safety_net(detector) -> SafetyNet:
    return SafetyNet(detector)


def _ranked(text: str, *ranking: tuple[str, float]):
    """A message the classifier gave the first intent of ``ranking``, with the whole ranking."""
    name, confidence = ranking[0]
    message = classified(text, name, confidence=confidence)
    message.set(INTENT_RANKING_KEY, [{"name": n, "confidence": c} for n, c in ranking])
    return message


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I want to kill myself", "risk_suicide"),
        ("i want to KILL MYSELF", "risk_suicide"),
        ("im so sucidal", "risk_suicide"),
        ("kil myslef", "risk_suicide"),
        ("i've been killing myself slowly", "risk_suicide"),
        ("there's no point going on", "risk_suicide"),
        ("everyone would be better off without me", "risk_suicide"),
        ("I just want it all to stop", "risk_suicide"),
        ("I can't keep myself safe", "risk_suicide"),
        # "$" as an alternative: "... be here|around anymore|$" ends the sentence there too
        ("i don't want to be here", "risk_suicide"),
        ("I dont wanna be around. It's too much", "risk_suicide"),
        ("how many paracetamol would kill me", "risk_suicide"),
        ("kms", "risk_suicide"),
        ("i feel like crashing my car into a wall", "risk_suicide"),
        # warning signs without a word of death, and hidden harm, in other words
        ("i've written goodbye letters to my kids", "risk_suicide"),
        ("I left a note for whoever finds me", "risk_suicide"),
        ("just putting my affairs in order", "risk_suicide"),
        ("i think i'm not long for this world", "risk_suicide"),
        # the third blind set's warning signs, in other words
        ("anything sooner? not sure i'll still be here by the time it comes", "risk_suicide"),
        ("not sure I'll still be alive by Christmas", "risk_suicide"),
        ("will my kids be looked after when I'm gone?", "risk_suicide"),
        ("please tell my mum it wasnt her fault", "risk_suicide"),
        ("my brother's on the ledge and won't come down", "risk_other_person"),
        ("took apart a pencil sharpener last night", "risk_self_harm"),
        ("relapsed with sh again", "risk_self_harm"),
        ("held a lighter against my arm", "risk_self_harm"),
        ("I've been putting a few tablets aside every week", "risk_overdose"),
        ("had my meds by the handful", "risk_overdose"),
        ("took the lot about an hour ago", "risk_overdose"),
        ("swallowed a lot more than I'm prescribed", "risk_overdose"),
        ("he reads all my messages and takes my bank card", "risk_abuse"),
        ("i told work i walked into a door", "risk_abuse"),
        ("he'll find me wherever I go", "risk_abuse"),
        ("my brother texted me goodbye", "risk_other_person"),
        ("she said she was going to do something stupid", "risk_other_person"),
        ("my partner controls what I eat and who I speak to", "risk_abuse"),
        ("my ex keeps breaching the non-molestation order", "risk_abuse"),
        ("he tried to hang himself last week", "risk_other_person"),
        ("sometimes I think about driving the car into oncoming traffic", "risk_suicide"),
        ("self harm", "risk_self_harm"),
        ("selfharm", "risk_self_harm"),
        ("i've been self harmimg again", "risk_self_harm"),
        ("I cut myself last night", "risk_self_harm"),
        ("I took too many pills", "risk_overdose"),
        ("i've taken an overdose", "risk_overdose"),
        ("I swallowed a whole packet of tablets", "risk_overdose"),
        ("my partner hits me", "risk_abuse"),
        ("I don't feel safe at home", "risk_abuse"),
        ("my friend says she wants to kill herself", "risk_other_person"),
        ("my brother is cutting himself", "risk_other_person"),
        ("my friend is threatening to kill himself", "risk_other_person"),
        ("my son keeps threatening to end it", "risk_other_person"),
        ("my flatmate said goodbye to everyone and i can't reach him", "risk_other_person"),
        ("she's been saying goodbye to all her friends", "risk_other_person"),
        ("my sister has been saying goodbye to everyone", "risk_other_person"),
        # A threat against the person writing is abuse, not someone else at risk.
        ("my husband threatens to kill me", "risk_abuse"),
        ("My boyfriend threatened to kill me if I leave", "risk_abuse"),
        ("i'm 15", "under_18"),
        ("I am only 16 years old", "under_18"),
    ],
)
def test_reviewed_phrases_are_detected(detector, text, intent):
    detection = detector.detect(text)
    assert detection is not None, f"{text!r} was not detected"
    assert detection.intent == intent


@pytest.mark.parametrize(
    "text",
    [
        "this waiting list is killing me",
        "I'm dying to get started",
        "I'd die for a coffee",
        "does DIT kill off bad habits",
        "I need to improve my skill myself",
        "when I was 15 my parents divorced",
        "I've had depression for 15 years",
        "I want to try dit",
        "how many sessions are there",
        "can I cut down to fortnightly sessions",
        "i don't want to be here all day filling in forms",
        # reviewed exceptions: a fright, professional work, a service for the bereaved, a device
        "the dog barking gave me a heart attack",
        "I run suicide prevention training for our staff, can we talk?",
        "is there a group for people bereaved by suicide?",
        "my tablet is at 1%, it's about to die",
        # an accident, or a drive into town: no wish to crash
        "I crashed my car into a wall last week, can I still come?",
        "thinking of driving my car into town for the session",
        # ordinary words beside the new warning signs
        "will my therapist write me a goodbye letter at the end?",
        "can I collect my tablets before the session?",
        "i keep my pills in the kitchen",
        "i'm not allowed out of work before 6",
        "i was prescribed sertraline, is that a problem?",
        "my sister texted me the link",
        "I decide what I eat now, is that progress?",
        "can I hang my coat up in the waiting room?",
        # ordinary words beside the third blind set's warning signs
        "not sure I'll still be here at 5, can we make it 4?",
        "not sure I'll still be around in March, I may be working abroad",
        "who will feed the cat when I'm gone on holiday?",
        "can you tell my therapist it wasn't her fault I missed the session, the train was late",
        "my cat is on the roof and won't come down",
        "my dad's on the roof fixing the gutter",
        "",
        "🙂",
    ],
)
def test_figures_of_speech_and_ordinary_questions_are_not_detected(detector, text):
    assert detector.detect(text) is None


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("I was bereaved by suicide last year and now I want to die too", "risk_suicide"),
        ("I do suicide prevention work but I'm suicidal myself", "risk_suicide"),
        ("my phone is about to die and so am I, I want to die", "risk_suicide"),
        ("he gave me a heart attack and then I took all my pills", "risk_overdose"),
    ],
)
def test_an_exception_leaves_the_rest_of_the_message_to_match(detector, text, intent):
    detection = detector.detect(text)
    assert detection is not None and detection.intent == intent


@pytest.mark.parametrize(
    "text",
    [
        "I'm 19 and at university, is there a student price?",
        "i am 23 and want to work on my confidence",
        "Im 45, is it too late for therapy",
        "I'm a 30 year old man",
        # a job only an adult holds
        "I'm a teacher so I can only do after 4.30 in term time",
        "im a school nurse, can we meet in the holidays",
        "I work as a teaching assistant and finish at 3.30",
        "I'm a GP, can I refer a patient",
    ],
)
@pytest.mark.parametrize("confidence", [0.6, 0.96])
def test_a_stated_adult_age_or_job_overrides_a_classifier_guess_of_a_young_person(
    safety_net, text, confidence
):
    message = _ranked(text, ("under_18", confidence), ("ask_cost", 0.3))
    safety_net.process([message])
    assert message.get(INTENT)["name"] == "ask_cost"
    assert not any(e["entity"] == YOUNG_PERSON_ENTITY for e in message.get(ENTITIES) or [])


@pytest.mark.parametrize(
    ("text", "classifier_says", "expected"),
    [
        # a reviewed under-18 phrase wins over any adult-looking number
        ("I'm 15 and my brother is 19", "under_18", "under_18"),
        # no age of the writer's own: the guess is graded as before
        ("my son is 19 and I'm worried", "under_18", "risk_check"),
        ("I'm 10 minutes late", "under_18", "risk_check"),
        ("I'm 19 and I want to die", "risk_suicide", "risk_suicide"),
        # not a job only adults hold, or not the writer's own
        ("I'm a student and my teacher told me to ask", "under_18", "risk_check"),
        ("my mum is a nurse and she doesn't know I'm here", "under_18", "risk_check"),
        ("I'm 15, my dad is a teacher", "under_18", "under_18"),
        ("I'm a nurse and I can't go on", "risk_suicide", "risk_suicide"),
    ],
)
def test_an_adult_age_or_job_changes_nothing_else(safety_net, text, classifier_says, expected):
    message = classified(text, classifier_says, confidence=0.6)
    safety_net.process([message])
    assert message.get(INTENT)["name"] == expected


def test_fires_even_when_the_classifier_is_sure_of_something_else(safety_net):
    message = classified("honestly I want to end my life", "ask_cost", confidence=0.999)
    safety_net.process([message])
    assert message.get(INTENT) == {"name": "risk_suicide", "confidence": 1.0}
    assert message.get(INTENT_RANKING_KEY)[0]["name"] == "risk_suicide"
    assert message.get(SAFETY_NET_KEY)["overrode"] == "ask_cost"


def test_overrides_the_fallback_verdict(safety_net):
    message = classified("sucidal", "nlu_fallback", confidence=0.2)
    safety_net.process([message])
    assert message.get(INTENT)["name"] == "risk_suicide"


def test_keeps_a_more_urgent_risk_verdict_of_the_classifier(safety_net):
    message = classified("I took all my pills because I want to die", "risk_overdose")
    safety_net.process([message])
    assert message.get(INTENT)["name"] == "risk_overdose"


def test_a_more_urgent_phrase_overrides_a_less_urgent_risk_verdict(safety_net):
    message = classified("I'm 16 and I took an overdose", "under_18")
    safety_net.process([message])
    assert message.get(INTENT)["name"] == "risk_overdose"


def test_leaves_other_messages_alone(safety_net):
    message = classified("how long is each session", "ask_session_length", confidence=0.9)
    safety_net.process([message])
    assert message.get(INTENT) == {"name": "ask_session_length", "confidence": 0.9}
    assert message.get(SAFETY_NET_KEY) is None


def test_a_confident_classifier_risk_verdict_is_kept(safety_net):
    message = classified("everything feels pointless and heavy", "risk_suicide", confidence=0.9)
    safety_net.process([message])
    assert message.get(INTENT)["name"] == "risk_suicide"


def test_a_weak_classifier_risk_verdict_becomes_a_check_in(safety_net):
    message = classified("this commute is too much", "risk_suicide", confidence=0.4)
    safety_net.process([message])
    assert message.get(INTENT)["name"] == "risk_check"
    assert message.get(SAFETY_NET_KEY)["overrode"] == "risk_suicide"


def _fell_back(text: str, *ranking: tuple[str, float]):
    """A message the FallbackClassifier set to nlu_fallback, above the ranking it fell back on."""
    return _ranked(text, ("nlu_fallback", 0.8), *ranking)


def test_a_fallback_torn_between_two_kinds_of_risk_becomes_a_check_in(safety_net):
    message = _fell_back(
        "someone i follow is up on a roof saying goodbye",
        ("risk_suicide", 0.51),
        ("risk_other_person", 0.48),
    )
    safety_net.process([message])
    assert message.get(INTENT) == {"name": "risk_check", "confidence": pytest.approx(0.99)}
    assert message.get(SAFETY_NET_KEY)["overrode"] == "nlu_fallback"


@pytest.mark.parametrize(
    "ranking",
    [
        # an ordinary intent among the two best, the risk reading under the check-in
        # threshold: the fallback stands
        (("risk_suicide", 0.35), ("ask_cost", 0.33)),
        (("ask_cost", 0.35), ("risk_suicide", 0.33)),
        # two kinds of risk, but too weak together to say the message is about risk
        (("risk_suicide", 0.2), ("risk_abuse", 0.18), ("ask_cost", 0.15)),
        # nothing to be torn between
        (("risk_suicide", 0.15),),
    ],
)
def test_other_fallbacks_stay_fallbacks(safety_net, ranking):
    message = _fell_back("something hard to place", *ranking)
    safety_net.process([message])
    assert message.get(INTENT)["name"] == "nlu_fallback"
    assert message.get(SAFETY_NET_KEY) is None


@pytest.mark.parametrize(
    "ranking",
    [
        (("ask_ending", 0.54), ("risk_suicide", 0.45)),
        (("ask_cost", 0.5), ("risk_other_person", 0.4)),
        (("share_difficulty", 0.41), ("ask_cost", 0.15), ("risk_abuse", 0.41)),
    ],
)
def test_a_strong_risk_reading_behind_an_ordinary_one_gets_the_check_in(safety_net, ranking):
    message = _ranked("hard to place", *ranking)
    safety_net.process([message])
    strongest = max(c for n, c in ranking if n.startswith("risk_"))
    assert message.get(INTENT) == {"name": "risk_check", "confidence": strongest}
    assert message.get(SAFETY_NET_KEY) == {
        "intent": "risk_check",
        "phrase": None,
        "overrode": ranking[0][0],
    }


@pytest.mark.parametrize(
    "ranking",
    [
        (("ask_ending", 0.6), ("risk_suicide", 0.39)),
        (("ask_cost", 0.5), ("risk_suicide", 0.3), ("risk_abuse", 0.2)),
        (("ask_cost", 0.99),),
    ],
)
def test_a_weaker_risk_reading_behind_an_ordinary_one_changes_nothing(safety_net, ranking):
    message = _ranked("hard to place", *ranking)
    safety_net.process([message])
    assert message.get(INTENT)["name"] == ranking[0][0]
    assert message.get(SAFETY_NET_KEY) is None


def test_a_fallback_with_a_strong_risk_reading_gets_the_check_in(safety_net):
    message = _fell_back("hard to place", ("risk_suicide", 0.45), ("ask_cost", 0.43))
    safety_net.process([message])
    assert message.get(INTENT) == {"name": "risk_check", "confidence": 0.45}
    assert message.get(SAFETY_NET_KEY)["overrode"] == "nlu_fallback"


@pytest.mark.parametrize(
    ("text", "ranking"),
    [
        ("020 7946 0000", (("inform", 0.5), ("risk_suicide", 0.45))),
        ("I'm 19 and at uni", (("ask_cost", 0.5), ("under_18", 0.45))),
    ],
)
def test_the_exceptions_of_a_classifier_only_verdict_hold_for_a_strong_reading(
    safety_net, text, ranking
):
    message = _ranked(text, *ranking)
    safety_net.process([message])
    assert message.get(INTENT)["name"] == ranking[0][0]


def test_the_check_in_for_a_strong_reading_can_be_turned_off(detector):
    message = _ranked("hard to place", ("ask_ending", 0.54), ("risk_suicide", 0.45))
    SafetyNet(detector, check_in_threshold=None).process([message])
    assert message.get(INTENT)["name"] == "ask_ending"


def test_the_check_in_threshold_is_read_from_the_config():
    from unittest.mock import MagicMock

    for configured, expected in ((None, "ask_ending"), (0.4, "risk_check"), (0.5, "ask_ending")):
        net = SafetyNet.create(
            {**SafetyNet.get_default_config(), "check_in_threshold": configured},
            MagicMock(),
            MagicMock(),
            MagicMock(),
        )
        message = _ranked("hard to place", ("ask_ending", 0.54), ("risk_suicide", 0.45))
        net.process([message])
        assert message.get(INTENT)["name"] == expected, configured


def test_risk_said_calmly_spread_over_several_readings_gets_the_check_in_when_summed(detector):
    # "I've given my dog to my sister and sorted my will. I feel calm now": no one reading of
    # risk is strong, together they hold 0.63.
    readings = (("risk_suicide", 0.25), ("risk_abuse", 0.21), ("risk_other_person", 0.17))
    summed = SafetyNet(detector, check_in_threshold=0.45, sum_risk_readings=True)
    message = _fell_back("hard to place", *readings)
    summed.process([message])
    assert message.get(INTENT)["name"] == "risk_check"
    assert message.get(INTENT)["confidence"] == pytest.approx(0.63)
    alone = _fell_back("hard to place", *readings)
    SafetyNet(detector, check_in_threshold=0.45).process([alone])
    assert alone.get(INTENT)["name"] == "nlu_fallback"


@pytest.mark.parametrize(
    "ranking",
    [
        (("ask_cost", 0.6), ("risk_suicide", 0.2), ("risk_abuse", 0.2)),
        (("ask_ending", 0.56), ("risk_suicide", 0.44)),
    ],
)
def test_risk_readings_summed_under_the_threshold_change_nothing(detector, ranking):
    message = _ranked("hard to place", *ranking)
    SafetyNet(detector, check_in_threshold=0.45, sum_risk_readings=True).process([message])
    assert message.get(INTENT)["name"] == ranking[0][0]
    assert message.get(SAFETY_NET_KEY) is None


def test_summing_the_risk_readings_is_read_from_the_config():
    from unittest.mock import MagicMock

    for summed, expected in ((False, "ask_cost"), (True, "risk_check")):
        net = SafetyNet.create(
            {
                **SafetyNet.get_default_config(),
                "check_in_threshold": 0.45,
                "sum_risk_readings": summed,
            },
            MagicMock(),
            MagicMock(),
            MagicMock(),
        )
        message = _ranked(
            "hard to place", ("ask_cost", 0.5), ("risk_suicide", 0.3), ("risk_abuse", 0.2)
        )
        net.process([message])
        assert message.get(INTENT)["name"] == expected, summed


def test_a_contact_detail_torn_between_risks_stays_a_fallback(safety_net):
    message = _fell_back("020 7946 0000", ("risk_suicide", 0.5), ("under_18", 0.45))
    safety_net.process([message])
    assert message.get(INTENT)["name"] == "nlu_fallback"


@pytest.mark.parametrize("text", ["020 7946 0000", "+44 (0)7911 123456", "sam@example.org"])
def test_a_bare_contact_detail_is_never_risk_by_the_classifier_alone(safety_net, text):
    message = classified(text, "under_18", confidence=0.95)
    safety_net.process([message])
    assert message.get(INTENT)["name"] == "nlu_fallback"


def test_pattern_file_is_well_formed():
    spec = load_spec()
    assert set(spec["priority"]) == set(spec["categories"])
    for intent, phrases in spec["categories"].items():
        assert phrases, f"{intent} has no phrases"
        assert len(phrases) == len(set(phrases)), f"{intent} lists a phrase twice"


def test_a_clinic_can_use_its_own_phrase_file(tmp_path):
    own = tmp_path / "patterns.yml"
    own.write_text(
        "priority: [risk_suicide]\ncategories:\n  risk_suicide:\n    - walk into the sea\n"
    )
    detector = get_detector(str(own))
    assert detector.detect("I want to walk into the sea").intent == "risk_suicide"
    assert detector.detect("I want to kill myself") is None


def test_a_weak_classifier_verdict_never_overrides_a_reviewed_phrase(safety_net):
    # "other person" outranks "suicide", but only a confident classifier may claim it.
    message = classified(
        "i've written letters to my family saying goodbye", "risk_other_person", confidence=0.6
    )
    safety_net.process([message])
    assert message.get(INTENT)["name"] == "risk_suicide"


# ------------------------------------------------------------- contact details, in linear time
_OLD_CONTACT_DETAIL = re.compile(r"^\s*(?:[+(]?\d[\d\s().-]{5,}\d|[^\s@]+@[^\s@]+\.[^\s@]+)\s*$")


@pytest.mark.parametrize(
    "text",
    [
        "07911 123456",
        "+44 (0)161 496 0999",
        "(0161) 496-0999",
        "sam@example.org",
        " sam.jones@mail.example.co.uk ",
        "123456",
        "1234567",
        "sam@example",
        "sam@.org",
        "sam@@example.org",
        "sam @example.org",
        "I want to die 0161 496 0999",
        "call 999",
        "+",
        "",
        "0" * 300,
        "1 2 3 4 5 6 7",
        "a@b.c",
        "a@b.",
        "(1234567)",
    ],
)
def test_contact_details_are_read_as_before(text):
    from dit_assistant.safety.component import is_contact_detail

    assert is_contact_detail(text) is bool(_OLD_CONTACT_DETAIL.match(text)) or len(text) > 254


@pytest.mark.parametrize(
    "text",
    [
        "a@" + "." * 100_000 + "@",  # 8.6 s at 8,000 characters with the old expression
        "a@" + "." * 100_000 + " x",
        "1 " * 50_000 + "x",
        "1" * 100_000 + " " * 100_000 + "x",
    ],
)
def test_contact_detail_check_takes_linear_time(text):
    from dit_assistant.safety.component import is_contact_detail

    started = time.perf_counter()
    assert is_contact_detail(text) is False
    assert time.perf_counter() - started < 0.05


def _young_person(message) -> bool:
    return any(e["entity"] == YOUNG_PERSON_ENTITY for e in message.get(ENTITIES) or [])


@pytest.mark.parametrize(
    ("text", "classifier_says", "intent"),
    [
        ("I'm 16 and I took an overdose", "under_18", "risk_overdose"),
        ("im 12 and my stepdad touches me at night", "risk_abuse", "risk_abuse"),
        ("i'm 15, is dit for me", "ask_who_for", "under_18"),
        ("I'm in year 10 and I hate myself", "share_difficulty", "under_18"),
    ],
)
def test_a_young_person_is_marked_whatever_reply_comes(safety_net, text, classifier_says, intent):
    message = classified(text, classifier_says)
    safety_net.process([message])
    assert message.get(INTENT)["name"] == intent
    assert _young_person(message)


@pytest.mark.parametrize(
    "text",
    [
        "I want to kill myself",
        "my son is under 18, can he have therapy with you",
        "my daughter is 15 and self harming",
        "how long is each session",
    ],
)
def test_adults_and_parents_are_not_marked_young(safety_net, text):
    message = classified(text, "ask_session_length", confidence=0.9)
    safety_net.process([message])
    assert not _young_person(message)


def _entity(message, name: str):
    values = [e["value"] for e in message.get(ENTITIES) or [] if e["entity"] == name]
    return values[-1] if values else None


@pytest.mark.parametrize(
    ("text", "ranking", "about_someone_else"),
    [
        ("my mum has taken too many of her pills", (("risk_other_person", 0.8),), True),
        (
            "i've taken too many of my pills",
            (("risk_overdose", 0.9), ("risk_other_person", 0.05)),
            False,
        ),
        # read as about the friend, but the writer speaks of themselves: theirs
        ("my friend doesn't know I've taken an overdose", (("risk_other_person", 0.95),), False),
        (
            "my friend doesn\u2019t know I\u2019ve taken an overdose",
            (("risk_other_person", 0.95),),
            False,
        ),
        ("my mum found out i took a load of pills", (("risk_other_person", 0.9),), False),
    ],
)
def test_every_overdose_verdict_says_whether_it_is_about_someone_else(
    safety_net, text, ranking, about_someone_else
):
    """The overdose reply stays (it is the more urgent); the entity picks its wording, and is set
    either way so that an earlier message's value never carries over."""
    message = _ranked(text, *ranking)
    safety_net.process([message])
    assert message.get(INTENT)["name"] == "risk_overdose"
    assert _entity(message, "about_someone_else") is about_someone_else


@pytest.mark.parametrize(
    ("text", "ranking", "verdict", "about_someone_else"),
    [
        (
            "my friend posted that she's going to jump",
            (("risk_other_person", 0.62), ("risk_suicide", 0.3)),
            "risk_suicide",
            True,
        ),
        (
            "my boyfriend is cutting again",
            (("risk_other_person", 0.7), ("risk_self_harm", 0.2)),
            "risk_self_harm",
            True,
        ),
        # the writer's own: any word of themselves keeps the wording written to them
        (
            "my mum doesn't know i'm planning to jump",
            (("risk_other_person", 0.62), ("risk_suicide", 0.3)),
            "risk_suicide",
            False,
        ),
        (
            "everyone would be better off without me",
            (("risk_suicide", 0.6), ("risk_other_person", 0.3)),
            "risk_suicide",
            False,
        ),
        # a weak reading of someone else, under the threshold
        (
            "my cousin is thinking of ending it all",
            (("risk_suicide", 0.5), ("risk_other_person", 0.27)),
            "risk_suicide",
            False,
        ),
    ],
)
def test_a_reviewed_suicide_or_self_harm_phrase_keeps_its_verdict_and_says_whose_it_is(
    safety_net, text, ranking, verdict, about_someone_else
):
    """The verdict of a reviewed phrase stays, whoever the classifier thinks it is about; the
    entity only picks the wording of its reply, for a person worried about someone else when the
    classifier reads it so and the writer says nothing of themselves."""
    message = _ranked(text, *ranking)
    safety_net.process([message])
    assert message.get(INTENT)["name"] == verdict
    assert message.get(SAFETY_NET_KEY)["phrase"], "a reviewed phrase should match"
    assert _entity(message, "about_someone_else") is about_someone_else


@pytest.mark.parametrize(
    ("text", "ranking", "about_someone_else"),
    [
        # a weak verdict of someone else at risk
        (
            "someone in my chat said they'll do it tonight and logged off",
            (("risk_other_person", 0.6), ("out_of_scope", 0.2)),
            True,
        ),
        # an ordinary verdict with a strong reading of someone else just behind it
        (
            "my colleague said he won't be here next week, can I book for him",
            (("request_appointment", 0.5), ("risk_other_person", 0.45)),
            True,
        ),
        # the reading behind the check-in is the writer's own
        (
            "what's the point of booking, I won't be around",
            (("risk_suicide", 0.6), ("risk_other_person", 0.3)),
            False,
        ),
    ],
)
def test_every_check_in_says_whether_the_risk_read_is_someone_elses(
    safety_net, text, ranking, about_someone_else
):
    """A check-in asks after the writer in either wording, so its wording for someone worried
    about another person needs only that the reading of risk behind it be someone else's."""
    message = _ranked(text, *ranking)
    safety_net.process([message])
    assert message.get(INTENT)["name"] == "risk_check"
    assert _entity(message, "about_someone_else") is about_someone_else


def test_a_young_persons_check_in_stays_theirs(safety_net):
    message = _ranked(
        "im 14 and my friend said she'll do it tonight",
        ("risk_other_person", 0.6),
        ("under_18", 0.3),
    )
    safety_net.process([message])
    assert _entity(message, "young_person") is True
    assert _entity(message, "about_someone_else") is None


@pytest.mark.parametrize(
    ("text", "ranking", "verdict"),
    [
        ("my mum has taken too many of her pills", (("risk_other_person", 0.8),), "risk_overdose"),
        (
            "my friend posted that she's going to jump",
            (("risk_other_person", 0.62),),
            "risk_suicide",
        ),
        ("my friend said she'll do it tonight", (("risk_other_person", 0.6),), "risk_check"),
    ],
)
def test_the_someone_else_wording_can_be_turned_off(detector, text, ranking, verdict):
    message = _ranked(text, *ranking)
    SafetyNet(detector, someone_else_threshold=None).process([message])
    assert message.get(INTENT)["name"] == verdict
    assert _entity(message, "about_someone_else") is None


@pytest.mark.parametrize(
    ("text", "first_person"),
    [
        ("I want to die", True),
        ("my boyfriend left and I want to die", True),
        ("my boyfriend left and i really want to die", True),
        ("my husband cheated and I've been self harming again", True),
        ("my friend says she wants to die and I don't know what to do", False),
        ("my mum wants to die. I want to help her", False),
        # someone else's words, reported: theirs
        ('my son said "I want to die" at dinner', False),
        ("my sister texted me i want to die last night", False),
    ],
)
def test_a_suicide_or_self_harm_phrase_knows_whether_the_writer_says_it_of_themselves(
    detector, text, first_person
):
    said = [d for d in detector.detect_all(text) if d.intent in ("risk_suicide", "risk_self_harm")]
    assert said, text
    assert any(d.first_person for d in said) is first_person


@pytest.mark.parametrize(
    ("text", "ranking", "verdict"),
    [
        # a someone-else phrase ("boyfriend ... want to die") and the writer's own "I want to die"
        ("my boyfriend left and I want to die", (("ask_relationships", 0.6),), "risk_suicide"),
        # a confident reading of someone else never overrides the writer's own phrase
        ("my boyfriend left and I want to die", (("risk_other_person", 0.95),), "risk_suicide"),
        # someone else's, the writer worried: the someone-else reply stays
        (
            "my friend says she wants to die and I don't know what to do",
            (("risk_other_person", 0.95),),
            "risk_other_person",
        ),
        (
            'my son said "I want to die" at dinner',
            (("risk_other_person", 0.95),),
            "risk_other_person",
        ),
    ],
)
def test_the_writers_own_risk_said_beside_someone_else_gets_the_reply_written_to_them(
    safety_net, text, ranking, verdict
):
    message = _ranked(text, *ranking)
    safety_net.process([message])
    assert message.get(INTENT)["name"] == verdict


@pytest.mark.parametrize(
    ("text", "overdose"),
    [
        ("od'd last night and didn't tell anyone", True),
        ("I OD\u2019d on my meds", True),
        ("i od'ed earlier", True),
        # "odd" is an ordinary word
        ("that's odd, the form didn't send", False),
        ("I feel a bit odd about starting therapy", False),
    ],
)
def test_od_d_is_read_as_overdosed_and_odd_as_odd(detector, text, overdose):
    found = [d.intent for d in detector.detect_all(text)]
    assert ("risk_overdose" in found) is overdose, found
