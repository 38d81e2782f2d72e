"""The practice's redaction settings: defaults, validation and marker wording."""

from __future__ import annotations

import pytest

from sotto.privacy.settings import TOPICS, PrivacySettings


def test_default_settings_remove_identifiers_and_every_topic_with_a_neutral_marker() -> None:
    settings = PrivacySettings.default()
    assert settings.phi_removal
    assert settings.topics == TOPICS
    assert settings.marker("substance") == "[removed: sensitive topic]"


def test_marker_names_the_category_only_when_the_practice_allows_it() -> None:
    settings = PrivacySettings(marker_names_category=True)
    assert settings.marker("substance") == "[removed: substance use]"
    assert settings.marker("immigration") == "[removed: immigration status]"


def test_unknown_topic_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown topic"):
        PrivacySettings(topics=frozenset({"criminal", "politics"}))


def test_topics_given_as_a_set_are_kept_frozen() -> None:
    settings = PrivacySettings(topics={"trauma"})  # type: ignore[arg-type]
    assert settings.topics == frozenset({"trauma"})
    assert hash(settings)
