"""What a practice chooses to remove: identifiers, which sensitive topics, and how markers read."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Every sensitive-topic category, by its settings name (FORMAT.md names them in capitals).
TOPICS: frozenset[str] = frozenset({"criminal", "immigration", "sogi", "trauma", "substance", "health"})

#: How a marker names each category when the practice lets markers name it.
TOPIC_LABELS: dict[str, str] = {
    "criminal": "criminal history",
    "immigration": "immigration status",
    "sogi": "sexual orientation and gender identity",
    "trauma": "trauma and abuse",
    "substance": "substance use",
    "health": "sexual and reproductive health",
}


@dataclass(frozen=True)
class PrivacySettings:
    """One practice's redaction settings.

    ``phi_removal`` replaces identifiers by typed placeholders; ``topics`` lists the
    categories whose passages are removed; ``marker_names_category`` makes a removed
    passage read "[removed: substance use]" instead of the neutral "[removed: sensitive topic]".
    """

    phi_removal: bool = True
    topics: frozenset[str] = field(default_factory=lambda: TOPICS)
    marker_names_category: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.topics) - TOPICS
        if unknown:
            raise ValueError(f"unknown topic categories: {', '.join(sorted(unknown))}")
        # A caller may pass any iterable of names; keep the frozen, hashable form.
        object.__setattr__(self, "topics", frozenset(self.topics))

    @classmethod
    def default(cls) -> PrivacySettings:
        """Everything on, with neutral markers: a marker naming its category would itself disclose it."""
        return cls()

    def marker(self, category: str) -> str:
        """The text that stands in for a removed passage of ``category``."""
        if self.marker_names_category:
            return f"[removed: {TOPIC_LABELS[category]}]"
        return "[removed: sensitive topic]"
