"""Every DIT topic, asked as a person would, gets the right answer with the right facts."""

from __future__ import annotations

import pytest

# topic -> (two ways a person asks, phrases the answer must contain)
TOPICS: dict[str, tuple[tuple[str, str], tuple[str, ...]]] = {
    "ask_what_is_dit": (
        ("what is DIT?", "can u explain dynamic interpersonal therapy"),
        ("Dynamic Interpersonal Therapy", "talking therapy", "16"),
    ),
    "ask_meaning_of_name": (
        ("what does the interpersonal bit mean", "why is it called dynamic"),
        ("between people", "psychodynamic"),
    ),
    "ask_how_it_works": (
        ("how does DIT actually work", "what does the therapist do in dit"),
        ("pattern", "relationships"),
    ),
    "ask_ipaf": (
        ("what is the IPAF", "what's an interpersonal affective focus"),
        ("interpersonal affective focus",),
    ),
    "ask_number_of_sessions": (
        ("how many sessions are there", "number of sessions?"),
        ("16 sessions", "50 minutes"),
    ),
    "ask_session_length": (
        ("how long is each session", "how many minutes is a session"),
        ("50 minutes",),
    ),
    "ask_session_frequency": (("how often are the sessions", "is it weekly?"), ("once a week",)),
    "ask_total_duration": (
        ("how long does DIT take overall", "how many months is the therapy"),
        ("four to five months", "16 weekly sessions"),
    ),
    "ask_phases": (
        ("what are the phases of dit", "what stages does the therapy have"),
        ("three phases", "Beginning", "Middle", "Ending"),
    ),
    "ask_first_session": (
        ("what happens in the first session", "what is the assessment like"),
        ("first sessions", "IPAF"),
    ),
    "ask_middle_phase": (
        ("what happens in the middle phase", "what are the middle sessions like"),
        ("middle phase", "sessions 5 to 12"),
    ),
    "ask_ending": (
        ("what happens at the end of dit", "what are the final sessions like"),
        ("goodbye letter",),
    ),
    "ask_homework": (
        ("is there homework", "do I have to do anything between sessions"),
        ("no formal homework",),
    ),
    "ask_childhood": (
        ("do i have to talk about my childhood", "will we talk about my parents"),
        ("don't have to talk about anything",),
    ),
    "ask_who_it_suits": (
        ("who is dit for", "is DIT right for me"),
        ("adults", "depression or anxiety"),
    ),
    "ask_depression": (
        ("can dit help with depression", "does it work for low mood"),
        ("depression", "no therapy can promise"),
    ),
    "ask_anxiety": (
        ("is dit good for anxiety", "will it help my anxiety and worry"),
        ("anxiety", "GP"),
    ),
    "ask_relationships": (
        (
            "I keep having the same problems in relationships, can it help",
            "will it help with arguments with my partner",
        ),
        ("Relationships are at the heart of DIT",),
    ),
    "ask_not_suitable": (
        ("who is DIT not suitable for", "is there anyone DIT is not right for"),
        ("may not be the best fit", "never decided by me", "GP"),
    ),
    "ask_evidence": (
        ("is there evidence dit works", "what does the research say"),
        ("REDIT", "147", "NICE"),
    ),
    "ask_benefits": (
        ("what are the benefits of dit", "what will I get out of it"),
        ("no therapy can promise",),
    ),
    "ask_vs_cbt": (
        ("how is dit different from cbt", "DIT or CBT?"),
        ("CBT", "patterns in your relationships"),
    ),
    "ask_vs_other_therapies": (
        ("is dit the same as IPT", "how is it different from counselling"),
        ("IPT", "interpersonal psychotherapy"),
    ),
    "ask_group": (("can i do dit in a group", "is there group DIT"), ("one-to-one",)),
    "ask_online": (
        ("can I do the sessions online", "is it face to face or video"),
        ("50 minutes",),
    ),
    "ask_cost": (("how much does it cost", "what are your fees"), ()),
    "ask_confidentiality": (
        ("is it confidential", "will anyone find out what I say"),
        ("confidential",),
    ),
    "ask_how_to_start": (("how do I start DIT", "how can i get referred for dit"), ("assessment",)),
    "ask_medication": (
        ("should I stop my antidepressants", "can I take medication during DIT"),
        ("can't give advice about medication", "GP"),
    ),
    "ask_psychodynamic": (
        ("what does psychodynamic therapy mean", "is DIT a psychodynamic therapy"),
        ("psychodynamic", "16"),
    ),
    "ask_unconscious": (
        ("what are unconscious feelings", "how can I have feelings I don't know about"),
        ("aware",),
    ),
    "ask_dit_training": (
        ("how can I train as a DIT practitioner", "where do counsellors learn DIT"),
        ("training",),
    ),
    # What therapy is like
    "ask_quiet_therapist": (
        ("why does my therapist hardly speak", "will the therapist just sit in silence"),
        ("say less", "listening"),
    ),
    "ask_therapy_relationship": (
        (
            "can I say I'm angry with my therapist",
            "is it ok to talk about how I feel about my therapist",
        ),
        ("feelings about your therapist",),
    ),
    "ask_first_session_nerves": (
        ("I'm terrified of the first appointment", "what if I cry in front of the therapist"),
        ("nervous", "Crying"),
    ),
    "ask_not_bad_enough": (
        (
            "my problems probably aren't serious enough for therapy",
            "other people have it worse than me, should I still come",
        ),
        ("don't have to be in crisis",),
    ),
    "ask_no_diagnosis": (
        ("do I need to be diagnosed first", "will I get a diagnosis label"),
        ("don't need a diagnosis",),
    ),
    "ask_worse_before_better": (
        ("why do I feel worse after my sessions", "is feeling drained after therapy normal"),
        ("stir things up",),
    ),
    "ask_not_working": (
        ("I don't think the therapy is helping", "can I change therapist halfway"),
        ("review progress",),
    ),
    "ask_enough_sessions": (
        (
            "is 16 sessions really enough",
            "I've felt like this for twenty years, is DIT long enough",
        ),
        ("16 weekly sessions", "can't judge"),
    ),
    "ask_questionnaires": (
        ("why do I have to fill in mood forms", "what are the questionnaires for"),
        ("questionnaires",),
    ),
    "ask_after_therapy": (
        ("what support is there once the sessions end", "do you offer a follow-up after therapy"),
        ("goodbye letter",),
    ),
    "ask_what_to_talk_about": (
        ("what should I talk about in sessions", "how do I prepare for a session"),
        ("don't need to prepare",),
    ),
    # Practicalities: the clinic's own words, from config/clinic.yml
    "ask_appointment_times": (
        ("do you do sessions after work", "any weekend appointments?"),
        ("Saturday",),
    ),
    "ask_cancellation": (
        ("how much notice do I need to give to cancel", "is there a late cancellation fee"),
        ("48 hours",),
    ),
    "ask_missed_session": (
        ("what if I miss a session", "will I lose my place if I don't turn up once"),
        ("miss a session",),
    ),
    "ask_waiting_time": (
        (
            "how long is the wait at the moment",
            "how long would I be waiting for a first appointment",
        ),
        ("3 to 4 weeks",),
    ),
    "ask_referral_routes": (
        ("does my GP need to refer me", "can I come through my health insurance"),
        ("refer yourself",),
    ),
    "ask_gp_referral": (
        ("my doctor sent you a referral, what happens next", "I was referred by my GP last week"),
        ("referral from your GP",),
    ),
    "ask_choose_therapist": (
        ("can I ask for a woman therapist", "can I choose who my therapist is"),
        ("can't promise a particular therapist",),
    ),
    "ask_languages": (
        ("do you offer therapy in Urdu", "can I have an interpreter"),
        ("interpreter",),
    ),
    "ask_accessibility": (
        ("is there wheelchair access", "do you have a hearing loop"),
        ("step-free",),
    ),
    "ask_location": (("where is the clinic", "is there parking nearby"), ("car park",)),
    "ask_bring_someone": (
        ("can my partner come with me", "can I bring my baby along"),
        ("waiting room",),
    ),
    "ask_letters": (
        ("can I get a letter for my employer", "will you write to my insurer"),
        ("letter",),
    ),
    "ask_qualifications": (
        ("are your therapists registered", "what qualifications do the therapists have"),
        ("registered",),
    ),
    "ask_other_therapies_offered": (
        ("do you do couples counselling", "do you offer EMDR"),
        ("couples",),
    ),
    "ask_therapist_absence": (
        ("what if my therapist goes on holiday", "what happens when my therapist is off sick"),
        ("holidays",),
    ),
    "ask_age_limit": (
        ("Do you see people under 18?", "is there an age limit"),
        ("18 and over", "GP", "Childline"),
    ),
}


@pytest.mark.parametrize(
    ("topic", "question"),
    [(topic, q) for topic, (questions, _) in TOPICS.items() for q in questions],
)
def test_each_topic_is_answered(conversation, topic, question):
    turn = conversation.say(question)
    assert turn.responses == [f"utter_{topic}"], f"{question!r} was answered with {turn.responses}"
    for phrase in TOPICS[topic][1]:
        assert phrase in turn.text
    assert "{" not in turn.text, "an unfilled template variable reached the person"


def test_every_topic_in_the_domain_is_covered(bot):
    asked = {f"utter_{topic}" for topic in TOPICS}
    form_questions = {f"utter_ask_{slot.name}" for slot in bot.agent.domain.slots}
    answers = {
        name
        for name in bot.agent.domain.responses
        if name.startswith("utter_ask_") and name not in form_questions
    }
    # Asking for a child or another adult are routes, tested in tests/bot/test_routes.py, and
    # what the assistant keeps is tested with clearing the chat in tests/bot/test_chat_data.py.
    answers -= {"utter_ask_for_my_child", "utter_ask_for_someone_else", "utter_ask_chat_data"}
    assert answers == asked


def test_practical_answers_quote_the_clinic_profile(conversation, settings):
    variables = settings.template_variables()
    for topic, key in [
        ("ask_appointment_times", "appointment_times"),
        ("ask_waiting_time", "waiting_time"),
        ("ask_letters", "letters"),
    ]:
        turn = conversation.say(TOPICS[topic][0][0])
        assert variables[f"practical_{key}"] in turn.text
        assert settings.clinic.practicalities[key] in turn.text


def test_an_unset_practical_fact_is_said_plainly_never_guessed(bot, settings):
    from dataclasses import replace

    clinic = replace(settings.clinic, practicalities={})
    bot.use_settings(replace(settings, clinic=clinic))
    try:
        turn = bot.new_conversation().say("any weekend appointments?")
        assert turn.responses == ["utter_ask_appointment_times"]
        assert "I don't have details of the times and days" in turn.text
        assert settings.clinic.phone in turn.text and settings.clinic.email in turn.text
        assert "Saturday" not in turn.text and "8pm" not in turn.text
    finally:
        bot.use_settings(settings)


def test_clinic_facts_come_from_configuration(conversation, settings):
    cost = conversation.say("how much does DIT cost")
    assert settings.clinic.cost in cost.text
    assert settings.clinic.phone in cost.text
    online = conversation.say("can sessions be online")
    assert settings.clinic.formats in online.text
    start = conversation.say("how do I start")
    assert settings.clinic.phone in start.text and settings.clinic.email in start.text
    privacy = conversation.say("is what I say kept private")
    assert settings.clinic.privacy_notice_url in privacy.text


def test_topics_can_follow_each_other_in_any_order(conversation):
    order = [
        "ask_cost",
        "ask_depression",
        "ask_number_of_sessions",
        "ask_ending",
        "ask_what_is_dit",
    ]
    for topic in order:
        question = TOPICS[topic][0][0]
        assert conversation.say(question).responses == [f"utter_{topic}"]
