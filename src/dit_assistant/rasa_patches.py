"""An attribute of a Rasa class replaced in this process, with Rasa's own kept beside it.

Some modules give a part of Rasa's own work the same answer for less (``event_types``,
``rule_matching``, ``dialogue_states``, ``action_connections``): each replaces one attribute of a
Rasa class when the Rasa server creates its response generator (``dit_assistant.nlg``), and its
tests compare the replacement with Rasa's own. :class:`ClassPatch` is that replacement:
installing it twice changes nothing, and uninstalling it puts Rasa's own back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ClassPatch:
    """``owner().<name>`` replaced by ``replacement`` once installed. ``owner`` is called when
    needed, so a module that declares a patch need not import Rasa's class first."""

    owner: Callable[[], type]
    name: str
    replacement: Any
    _original: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def installed(self) -> bool:
        return self._original is not None

    def original(self) -> Any:
        """Rasa's own attribute, installed over or not, as the class defines it (a
        ``staticmethod`` stays one, and is callable as it is)."""
        return self._original if self._original is not None else vars(self.owner())[self.name]

    def install(self) -> None:
        with self._lock:
            if self._original is None:
                owner = self.owner()
                self._original = vars(owner)[self.name]
                setattr(owner, self.name, self.replacement)

    def uninstall(self) -> None:
        with self._lock:
            if self._original is not None:
                setattr(self.owner(), self.name, self._original)
                self._original = None
