"""Run configuration: the packaged defaults (``aiscientist/defaults/default.yaml``), then a
user file, then ``--set`` overrides.

Validated once by pydantic; unknown keys are errors that name the key.
"""

from __future__ import annotations

from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aiscientist.errors import ConfigError

DEFAULT_CONFIG: Traversable = files("aiscientist") / "defaults" / "default.yaml"
"""The defaults every run starts from, shipped inside the package (read as a resource, so an
installed wheel finds them wherever it lives)."""


class StrictModel(BaseModel):
    """Base of every pydantic model of user input: unknown keys are errors, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelsConfig(StrictModel):
    default: str = "local"
    """Model for every role not named: a litellm string, local, scripted:PATH or replay:PATH."""
    orchestrator: str | None = None
    """Model of the Tier-0 orchestrator; null takes ``default``."""
    comprehension: str | None = None
    """Model of the comprehension specialist."""
    prioritization: str | None = None
    """Model of the prioritization specialist."""
    implementation: str | None = None
    """Model of the implementation specialist."""
    experimentation: str | None = None
    """Model of the experimentation specialist."""
    helper: str | None = None
    """Model of helper subagents."""
    judge: str | None = None
    """Model of the rubric judge."""
    tool_protocol: Literal["auto", "native", "json"] = "auto"
    """How agents call tools: native tool calls, or one JSON action per reply (small local
    models); auto = json for ``local``, native otherwise."""
    steering: bool | Literal["auto"] = "auto"
    """Hold a role's sessions to its contract (``agents/steering.py``: the next call narrowed,
    per-role rules): true/on, false/off, or auto = on for ``local``, off otherwise."""
    prompts: Literal["auto", "compact", "full"] = "auto"
    """Prompt profile: compact prompts, or full = with each role's playbook
    (``agents/prompts/playbooks/``); auto = compact for ``local``, full otherwise."""

    def for_role(self, role: str) -> str:
        """The model string of ``role``."""
        value = getattr(self, role, None) if role in type(self).model_fields else None
        return str(value or self.default)

    def protocol_for(self, role: str) -> Literal["native", "json"]:
        """The tool protocol of ``role``'s model."""
        if self.tool_protocol != "auto":
            return self.tool_protocol
        return "json" if self.for_role(role) == "local" else "native"

    def profile(self, role: str) -> Literal["compact", "full"]:
        """The prompt profile of ``role``: compact prompts, or with the role's playbook."""
        if self.prompts != "auto":
            return self.prompts
        return "compact" if self.for_role(role) == "local" else "full"

    def steered(self, role: str) -> bool:
        """Whether ``role``'s sessions are steered."""
        if isinstance(self.steering, bool):
            return self.steering
        return self.for_role(role) == "local"


class BudgetConfig(StrictModel):
    usd: float | None = Field(default=None, ge=0)
    """Hard stop on model spend in US dollars; null = unlimited."""
    tokens: int | None = Field(default=None, ge=0)
    """Hard stop on model tokens (prompt + completion); null = unlimited."""
    wall_minutes: float | None = Field(default=60, gt=0)
    """Hard stop on wall-clock minutes for the run; null = unlimited."""


class LimitsConfig(StrictModel):
    orchestrator_steps: int = Field(default=80, ge=1)
    """Most model steps the orchestrator takes."""
    specialist_steps: int = Field(default=60, ge=1)
    """Most model steps of one specialist session."""
    experiment_timeout_s: float = Field(default=3600, gt=0)
    """Default wall-clock limit of one experiment."""
    max_concurrent_experiments: int = Field(default=4, ge=1)
    """Experiments in flight at once for one run."""
    orchestrator_context_tokens: int = Field(default=4000, ge=1000)
    """Prompt budget of the orchestrator: older turns are compacted into a digest, so its
    prompt stays flat however long the run (it reads the map and summaries, not raw logs)."""


class ResourcesConfig(StrictModel):
    num_cpus: float = Field(default=1, ge=0)
    """CPUs an experiment asks Ray for."""
    num_gpus: float = Field(default=0, ge=0)
    """GPUs an experiment asks Ray for."""
    memory_gb: float = Field(default=4, gt=0)
    """Memory an experiment asks for and is limited to."""


class ExperimentsConfig(StrictModel):
    resources: ResourcesConfig = ResourcesConfig()
    """Default resource demand of an experiment."""
    reject_infeasible: bool = True
    """Refuse at submit an experiment that no live node can run (e.g. a GPU on a CPU-only
    cluster) instead of leaving it queued forever. Set false on an autoscaling cluster whose
    nodes start on demand."""
    dev_fraction: float = Field(default=0.2, ge=0, lt=1)
    """Improve tasks: the share of the public training rows the framework holds out as dev
    rows to verify every experiment's score (``experiments.validation``); 0 = trust the
    code's own ``val_score``."""
    dev_seed: int = 0
    """Seed of the dev split (recorded in ``dev/split.json``)."""


class SandboxConfig(StrictModel):
    kind: Literal["auto", "local", "docker"] = "auto"
    """auto = docker when an engine answers and the image is present, else local."""
    image: str = "aiscientist-executor"
    """Docker image experiments run in."""
    network: bool = False
    """Give experiments network access (off by default)."""


class SearchConfig(StrictModel):
    policy: Literal["greedy", "aide", "ucb"] = "ucb"
    """How the next hypothesis is chosen."""
    champion_margin: float = Field(default=0.0, ge=0)
    """A candidate must beat the champion by this much."""
    noise_threshold: float | None = Field(default=None, ge=0)
    """Gains below this need a confirming run with another seed; null = measured: the largest
    spread of one hypothesis's score over seeds in the run's tree (0 until one is measured)."""
    lease_s: float = Field(default=600, gt=0)
    """How long a claim on a hypothesis lasts without renewal; a crashed agent's claim goes
    back to the frontier when it expires (holders renew it while they work)."""
    drafts: int = Field(default=3, ge=1)
    """mode aide: solutions drafted from scratch before any is debugged or improved."""
    debug_prob: float = Field(default=0.5, ge=0, le=1)
    """mode aide: chance of debugging a buggy leaf instead of improving the best node."""
    max_debug_depth: int = Field(default=3, ge=0)
    """mode aide: a node debugged this many times in a row is left alone."""


class WorkspaceConfig(StrictModel):
    root: str = "runs"
    """Directory under which run directories are created."""
    lessons_dir: str | None = None
    """Opt-in lesson store shared across runs of a task family."""


class GradingConfig(StrictModel):
    min_judge_agreement: float = Field(default=0.8, ge=0, le=1)
    """A rubric judge whose measured agreement with the expected leaf verdicts of the bundled
    paper (``scripts/bench/judge_agreement.py``) is below this is not used by default:
    ``aiscientist grade`` refuses it unless ``models.judge`` names it explicitly."""


class RayConfig(StrictModel):
    address: str | None = None
    """null = embedded ray.init(); 'auto' or ray://host:port to join a cluster."""
    namespace: str = "aiscientist"
    """Ray namespace of the run's named actors."""


class RunConfig(StrictModel):
    """Everything a run needs to know, validated once."""

    mode: Literal["hierarchical", "decentralized", "aide"] = "hierarchical"
    """hierarchical: an orchestrator calls specialists; decentralized: peers share a tree;
    aide: one agent running AIDE's draft/debug/improve search (``agents/aide.py``)."""
    peers: int = Field(default=3, ge=1)
    """Number of peer agents in decentralized mode."""
    models: ModelsConfig = ModelsConfig()
    """Model per role."""
    budget: BudgetConfig = BudgetConfig()
    """Hard budgets of the run."""
    limits: LimitsConfig = LimitsConfig()
    """Step and concurrency limits."""
    experiments: ExperimentsConfig = ExperimentsConfig()
    """Experiment defaults."""
    sandbox: SandboxConfig = SandboxConfig()
    """Where untrusted code runs."""
    search: SearchConfig = SearchConfig()
    """Hypothesis search and champion gate."""
    workspace: WorkspaceConfig = WorkspaceConfig()
    """Where runs live."""
    ray: RayConfig = RayConfig()
    """How to reach Ray."""
    grading: GradingConfig = GradingConfig()
    """How runs are graded."""


def _read_yaml(path: Path | Traversable) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {str(path)!r}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {str(path)!r} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {str(path)!r} must hold a mapping, got {data!r}")
    return data


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def parse_override(item: str) -> tuple[list[str], Any]:
    """Split ``a.b=c`` into ``(["a", "b"], c)`` with ``c`` parsed as a YAML scalar."""
    if "=" not in item:
        raise ConfigError(f"override {item!r} must look like key.sub=value")
    key, raw = item.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ConfigError(f"override {item!r} has an empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return parts, value


def _apply(data: dict[str, Any], parts: list[str], value: Any) -> None:
    node = data
    for p in parts[:-1]:
        child = node.get(p)
        if child is None:
            child = {}
            node[p] = child
        if not isinstance(child, dict):
            raise ConfigError(f"cannot set {'.'.join(parts)!r}: {p!r} is not a section")
        node = child
    node[parts[-1]] = value


def load_config(
    user_file: str | Path | None = None,
    overrides: list[str] | None = None,
    base: dict[str, Any] | None = None,
) -> RunConfig:
    """Defaults, then ``user_file``, then ``overrides``, validated once."""
    data = _read_yaml(DEFAULT_CONFIG)
    if base:
        data = _merge(data, base)
    if user_file:
        data = _merge(data, _read_yaml(Path(user_file)))
    for item in overrides or []:
        parts, value = parse_override(item)
        _apply(data, parts, value)
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(x) for x in err["loc"])
            if err["type"] == "extra_forbidden":
                problems.append(f"unknown key {loc!r}")
            else:
                problems.append(f"{loc}: {err['msg']} (got {err.get('input')!r})")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from exc
