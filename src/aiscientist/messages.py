"""Messages on the wire and records on disk: frozen msgspec Structs with a schema version.

Actors pass only these: ``Pointer``s to files in the workspace and short ``Summary``s, never
bulky content. ``check_size`` enforces the cap; a message over it raises
``MessageTooLargeError`` so the sender learns to pass a pointer instead.

Structs live here, in an importable module, because Ray's pickling strips the fields of
Structs defined in ``__main__``.
"""

from __future__ import annotations

import time
import uuid
from typing import Literal

import msgspec

from aiscientist.errors import MessageTooLargeError

SCHEMA_VERSION = 1
MESSAGE_SIZE_CAP = 8192
"""Bytes of JSON above which an actor message is refused."""

Role = Literal[
    "runtime",
    "orchestrator",
    "comprehension",
    "prioritization",
    "implementation",
    "experimentation",
    "helper",
    "executor",
    "judge",
    "tree",
    "peer",
]
SPECIALIST_ROLES: tuple[Role, ...] = (
    "comprehension",
    "prioritization",
    "implementation",
    "experimentation",
    "helper",
)


def new_id(prefix: str) -> str:
    """A run-unique, sortable id such as ``del-0193f2a1c4-1a2b3c``."""
    return f"{prefix}-{time.time_ns() // 1_000_000:x}-{uuid.uuid4().hex[:6]}"


class Pointer(msgspec.Struct, frozen=True):
    """A file in the workspace: path relative to the run directory and its sha256."""

    path: str
    digest: str = ""
    size: int = 0
    schema_version: int = SCHEMA_VERSION


class Summary(msgspec.Struct, frozen=True):
    """A short text (a few sentences) that stands for bulky content elsewhere."""

    text: str
    schema_version: int = SCHEMA_VERSION


class Usage(msgspec.Struct, frozen=True):
    """Model usage of one call or a sum of calls."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    calls: int = 0
    schema_version: int = SCHEMA_VERSION

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cost_usd=self.cost_usd + other.cost_usd,
            calls=self.calls + other.calls,
        )


class Budget(msgspec.Struct, frozen=True):
    """What a delegation may spend; ``None`` means unlimited."""

    usd: float | None = None
    tokens: int | None = None
    wall_seconds: float | None = None
    steps: int | None = None
    schema_version: int = SCHEMA_VERSION


class Delegation(msgspec.Struct, frozen=True):
    """The orchestrator asks a specialist to do something."""

    id: str
    role: Role
    instruction: str
    inputs: tuple[Pointer, ...] = ()
    budget: Budget = Budget()
    mode: str = ""
    """Role-specific variant, e.g. ``full`` or ``fix`` for implementation."""
    schema_version: int = SCHEMA_VERSION


ResultStatus = Literal["ok", "failed", "budget_exhausted", "limit_reached"]


class Result(msgspec.Struct, frozen=True):
    """What a specialist returns: what happened, and pointers to what it changed."""

    delegation_id: str
    role: Role
    status: ResultStatus
    summary: Summary
    delta: tuple[Pointer, ...] = ()
    usage: Usage = Usage()
    schema_version: int = SCHEMA_VERSION


class Resources(msgspec.Struct, frozen=True):
    """What an experiment asks the cluster for."""

    num_cpus: float = 1.0
    num_gpus: float = 0.0
    memory_gb: float = 4.0
    custom: dict[str, float] = {}
    schema_version: int = SCHEMA_VERSION


class ExperimentSpec(msgspec.Struct, frozen=True):
    """An experiment: run ``command`` in a copy of ``submission/`` at its current state."""

    command: str
    hypothesis_id: str = ""
    description: str = ""
    resources: Resources = Resources()
    timeout_s: float = 3600.0
    seed: int = 0
    outputs: tuple[str, ...] = ()
    """Files (relative to the working copy) kept as artifacts, e.g. ``submission.csv``."""
    source_digest: str = ""
    """Digest of the code the experiment runs; part of its identity."""
    schema_version: int = SCHEMA_VERSION

    @property
    def exp_id(self) -> str:
        """Identity of an experiment: the digest of its spec."""
        import hashlib

        return "exp-" + hashlib.sha256(msgspec.json.encode(self)).hexdigest()[:12]


ExperimentStatus = Literal["ok", "failed", "timeout", "killed", "oom", "error"]


class ExperimentResult(msgspec.Struct, frozen=True):
    """A finished experiment. ``result.json`` holds one and is final."""

    exp_id: str
    status: ExperimentStatus
    exit_code: int | None
    metrics: dict[str, float] = {}
    duration_s: float = 0.0
    node_id: str = ""
    log: Pointer | None = None
    artifacts: tuple[Pointer, ...] = ()
    summary: str = ""
    started_at: float = 0.0
    finished_at: float = 0.0
    reported_score: float | None = None
    """The code's own ``val_score`` (from its ``metrics.json``): a claim."""
    verified_score: float | None = None
    """The task's grader on the framework's dev rows (``experiments.validation``)."""
    score: float | None = None
    """The score everything ranks by: ``verified_score`` when the run has a dev split, else
    ``reported_score`` (replicate tasks, or validation switched off)."""
    schema_version: int = SCHEMA_VERSION


RunStatus = Literal["created", "running", "finished", "budget_exhausted", "failed", "stopped"]


class TaskRef(msgspec.Struct, frozen=True):
    """Which task a run works on: its kind, name and the directory it was loaded from."""

    kind: Literal["improve", "replicate"]
    name: str
    source: str
    """Absolute path of the task directory (holds ``private/``, never mounted for agents)."""
    schema_version: int = SCHEMA_VERSION


class Spend(msgspec.Struct, frozen=True):
    """Budgets spent so far."""

    usd: float = 0.0
    tokens: int = 0
    wall_seconds: float = 0.0
    model_calls: int = 0
    schema_version: int = SCHEMA_VERSION


class RunManifest(msgspec.Struct, frozen=True):
    """``run.json``: the run's task, config, status and spend; rewritten atomically."""

    run_id: str
    task: TaskRef
    config: dict[str, object]
    status: RunStatus = "created"
    stage: str = "created"
    spend: Spend = Spend()
    created_at: float = 0.0
    updated_at: float = 0.0
    best_metric: float | None = None
    score: float | None = None
    """Graded score on the hidden answers (improve) or the rubric (replicate)."""
    grade: dict[str, object] = {}
    reproduce_verdict: str | None = None
    note: str = ""
    schema_version: int = SCHEMA_VERSION


# ---- journal events (journal/events.jsonl), a tagged union ----


class DelegationEvent(msgspec.Struct, frozen=True, tag="delegation"):
    """Written before a delegation is dispatched."""

    delegation: Delegation
    at: float


class ResultEvent(msgspec.Struct, frozen=True, tag="result"):
    """Written after a delegation returns."""

    result: Result
    at: float


class StageEvent(msgspec.Struct, frozen=True, tag="stage"):
    """The run changed stage or status."""

    stage: str
    status: str
    note: str
    at: float


class ExperimentEvent(msgspec.Struct, frozen=True, tag="experiment"):
    """An experiment was submitted or finished."""

    exp_id: str
    phase: Literal["submitted", "finished"]
    status: str
    at: float


class DecisionEvent(msgspec.Struct, frozen=True, tag="decision"):
    """A decision worth keeping: champion change, finish, budget stop."""

    kind: str
    detail: str
    at: float


JournalEvent = DelegationEvent | ResultEvent | StageEvent | ExperimentEvent | DecisionEvent


def encode(msg: msgspec.Struct) -> bytes:
    """JSON bytes of a message."""
    return msgspec.json.encode(msg)


def check_size(msg: msgspec.Struct, cap: int = MESSAGE_SIZE_CAP) -> msgspec.Struct:
    """Return ``msg`` if its JSON fits in ``cap`` bytes, else raise ``MessageTooLargeError``."""
    size = len(msgspec.json.encode(msg))
    if size > cap:
        raise MessageTooLargeError(
            f"{type(msg).__name__} is {size} bytes, over the {cap}-byte cap for actor messages; "
            "write the content to the workspace and pass a Pointer instead"
        )
    return msg
