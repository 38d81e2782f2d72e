"""The one protocol every pipeline stage implements, and the one registry that lists them.

A stage takes the session's `Work` (the decoded audio, the transcript so far), changes it,
and reports how far along it is. Built-in stages register here exactly as an extension
would: ``register_stage(name, factory)``, where ``factory(options)`` builds the stage for
one run. `run_pipeline` (in ``sotto.pipeline.service``) builds the stages named in
``options.stages`` from this registry and runs them in that order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from sotto.pipeline.types import Audio, Transcript

if TYPE_CHECKING:
    from sotto.pipeline.decode import AudioSource
    from sotto.pipeline.service import PipelineOptions

ReportFraction = Callable[[float], None]
"""Called by a stage with how much of its own work is done, from 0.0 to 1.0."""


class PipelineError(Exception):
    """The session cannot be processed; the message is written for the person who sent it."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass
class Work:
    """What the stages of one run hand each other. Audio lives in memory only."""

    sources: Sequence[AudioSource]
    audio: Audio | None = None
    transcript: Transcript | None = None
    notes: list[str] = field(default_factory=list)  # for the operator: what a stage left undone, never content

    def require_audio(self, stage: str) -> Audio:
        if self.audio is None:
            raise RuntimeError(f"stage {stage!r} needs decoded audio: put 'decode' before it")
        return self.audio

    def require_transcript(self, stage: str) -> Transcript:
        if self.transcript is None:
            raise RuntimeError(f"stage {stage!r} needs a transcript: put 'transcribe' before it")
        return self.transcript


@runtime_checkable
class Stage(Protocol):
    """One step of processing a session."""

    name: str

    def run(self, work: Work, report: ReportFraction) -> None:
        """Advance `work`, calling `report` with this stage's progress (0.0 to 1.0) now and then."""
        ...


StageFactory = Callable[["PipelineOptions"], Stage]

_REGISTRY: dict[str, StageFactory] = {}


def register_stage(name: str, factory: StageFactory, *, replace: bool = False) -> None:
    """Make a stage available under `name`. An existing name is refused unless `replace` is set,
    so two packages cannot silently claim the same stage."""
    if name in _REGISTRY and not replace:
        raise ValueError(f"a pipeline stage named {name!r} is already registered")
    _REGISTRY[name] = factory


def registered_stages() -> dict[str, StageFactory]:
    """Every registered stage by name (a copy)."""
    _load_builtins()
    return dict(_REGISTRY)


def build_stage(name: str, options: PipelineOptions) -> Stage:
    _load_builtins()
    try:
        factory = _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ValueError(f"no pipeline stage named {name!r} (registered: {known})") from None
    stage = factory(options)
    if stage.name != name:
        raise ValueError(f"the factory registered as {name!r} built a stage named {stage.name!r}")
    return stage


# The modules that register the built-in stages when imported. They are imported lazily so
# that importing the registry stays cheap (the speech stack is large).
BUILTIN_MODULES = (
    "sotto.pipeline.decode",
    "sotto.pipeline.transcribe",
    "sotto.pipeline.speakers",
    "sotto.pipeline.redaction",
    "sotto.pipeline.retain",
)
_builtins_loaded = False


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    import importlib

    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    _builtins_loaded = True
