"""In-process domain events, so one domain can react to another's change without importing it.

Listeners run synchronously inside the publisher's transaction: what they do commits or
rolls back with the change that caused it. Domains subscribe in their ``tasks`` module,
which ``sotto.tasks`` imports at start-up.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

Listener = Callable[..., None]
_LISTENERS: dict[str, list[Listener]] = defaultdict(list)

CONSENT_WITHDRAWN = "consent.withdrawn"
#: The client changed their choices so that no use of a recording is left (the consent stays signed).
CONSENT_NO_USE_LEFT = "consent.no_use_left"


def subscribe(event: str) -> Callable[[Listener], Listener]:
    def register(fn: Listener) -> Listener:
        if fn not in _LISTENERS[event]:
            _LISTENERS[event].append(fn)
        return fn

    return register


def publish(event: str, **payload: Any) -> None:
    for listener in list(_LISTENERS[event]):
        listener(**payload)
