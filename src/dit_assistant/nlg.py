"""Fills clinic facts and helplines into the response texts of ``bot/domain/``.

Rasa's templated generator only knows slot values. This subclass adds the values from the clinic
profile, so a response can say ``{clinic_phone}`` or ``{crisis_lines}`` and a clinic changes them
in its configuration without retraining. It runs inside the Rasa server itself: crisis replies do
not depend on the action server or the database being up.

A question asked after sharing a difficulty ("I've been so low since my divorce, how long is the
wait?") is marked by the NLU (``nlu/companions.py``); its answer opens here with a short
acknowledgement (``utter_acknowledge_difficulty``), so the person is heard as well as answered.

Every answer passes through here, so here the staff statistics count the topics people ask
about (each topic answer by name) and the honest "I don't have an answer" replies, by channel;
into the Rasa server's tally, in memory, so no reply waits on the database
(``store/tally.py``). Nothing of the conversation is counted but the answer's name.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from dit_assistant import (
    action_connections,
    action_responses,
    dialogue_states,
    event_types,
    rule_matching,
)
from dit_assistant.nlu.companions import SHARED_DIFFICULTY
from dit_assistant.settings import Settings, get_settings
from dit_assistant.store.tally import Tally, process_tally

logger = logging.getLogger(__name__)

UNKNOWN_ANSWERS = {"utter_default": "default", "utter_out_of_scope": "out_of_scope"}
"""The honest "I don't have an answer" (see ``bot/actions/unanswered.py``), and its kind."""
TOPIC_PREFIXES = ("utter_ask_", "utter_route_")
"""Answers to what people ask about: the FAQ and practical answers, and the routes for people
DIT may not suit. Not the questions of the forms (``utter_ask_<slot>``), greetings, the enquiry
form's messages or the crisis replies (those are counted as safety routes)."""
TOPIC_ANSWERS = frozenset({"utter_human_handoff", "utter_share_difficulty"})
ACKNOWLEDGEMENT = "utter_acknowledge_difficulty"
"""Opens the first answer to a question asked after sharing a difficulty."""


def statistic_of(response: str, form_questions: frozenset[str]) -> tuple[str, str] | None:
    """The statistic an answer counts towards, as (kind, name), or None.

    ``form_questions``: the ``utter_ask_<slot>`` responses, which ask rather than answer.
    """
    if response in UNKNOWN_ANSWERS:
        return "unknown_answer", UNKNOWN_ANSWERS[response]
    if response in form_questions:
        return None
    if response.startswith(TOPIC_PREFIXES) or response in TOPIC_ANSWERS:
        return "answer", response.removeprefix("utter_")
    return None


class ClinicResponseGenerator(TemplatedNaturalLanguageGenerator):
    """Templated responses with the clinic profile available as template variables."""

    def __init__(
        self,
        endpoint_config: EndpointConfig | None = None,
        domain: Domain | None = None,
        settings: Settings | None = None,
        tally: Tally | None = None,
    ) -> None:
        domain = domain or Domain.empty()
        super().__init__(domain.responses)
        # Created once per Rasa server: the place to make its action calls, its reading of
        # stored conversations, its dialogue states and its rule matching cheaper.
        action_connections.install()
        action_responses.install()
        event_types.install()
        dialogue_states.install()
        rule_matching.install()
        self._clinic_variables = (settings or get_settings()).template_variables()
        self._tally = tally or process_tally()
        self._form_questions = frozenset(f"utter_ask_{slot.name}" for slot in domain.slots)

    def _count(self, utter_action: str, tracker: DialogueStateTracker) -> None:
        try:
            statistic = statistic_of(utter_action, self._form_questions)
            if statistic is not None:
                channel = tracker.get_latest_input_channel() or "unknown"
                self._tally.add(*statistic, channel=channel)
        except Exception as error:  # noqa: BLE001 - a statistic never stands in a reply's way
            logger.error("an answer could not be counted (%s)", type(error).__name__)

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        self._count(utter_action, tracker)
        slots, variables = tracker.current_slot_values(), self._variables(kwargs)
        response = self.generate_from_slots(utter_action, slots, output_channel, **variables)
        if response is not None and self._acknowledges(utter_action, tracker):
            opener = self.generate_from_slots(ACKNOWLEDGEMENT, slots, output_channel, **variables)
            if opener and opener.get("text"):
                response["text"] = f"{opener['text']}\n{response.get('text') or ''}".strip()
        return response

    def _acknowledges(self, utter_action: str, tracker: DialogueStateTracker) -> bool:
        """Whether this answer is the first reply to a question asked after sharing a
        difficulty (not a form's question, and only once in a turn)."""
        if not utter_action.startswith("utter_ask_") or utter_action in self._form_questions:
            return False
        for event in reversed(tracker.events):
            if isinstance(event, BotUttered):
                return False
            if isinstance(event, UserUttered):
                return bool(event.parse_data.get(SHARED_DIFFICULTY))
        return False

    def fill(
        self, variation: dict[str, Any], slots: dict[str, Any], **values: Any
    ) -> dict[str, Any]:
        """One variation of a response, filled as :meth:`generate` fills the one it picks.

        The clinical safety pack shows every variation of every response this way (the young
        person's crisis replies as well as the adult ones), so a reviewer reads what people read.
        """
        return self._fill_response(copy.deepcopy(variation), slots, **self._variables(values))

    def _variables(self, values: dict[str, Any]) -> dict[str, Any]:
        # Clinic facts win over anything else with the same name: they are the source of truth.
        return {**values, **self._clinic_variables}
