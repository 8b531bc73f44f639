"""Fills clinic facts and helplines into the response texts of ``bot/domain.yml``.

Rasa's templated generator only knows slot values. This subclass adds the values from the clinic
profile, so a response can say ``{clinic_phone}`` or ``{crisis_lines}`` and a clinic changes them
in its configuration without retraining. It runs inside the Rasa server itself: crisis replies do
not depend on the action server or the database being up.
"""

from __future__ import annotations

import copy
from typing import Any

from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from dit_assistant.settings import Settings, get_settings


class ClinicResponseGenerator(TemplatedNaturalLanguageGenerator):
    """Templated responses with the clinic profile available as template variables."""

    def __init__(
        self,
        endpoint_config: EndpointConfig | None = None,
        domain: Domain | None = None,
        settings: Settings | None = None,
    ) -> None:
        super().__init__((domain or Domain.empty()).responses)
        self._clinic_variables = (settings or get_settings()).template_variables()

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        return self.generate_from_slots(
            utter_action, tracker.current_slot_values(), output_channel, **self._variables(kwargs)
        )

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
