"""Load a task directory (or a bundled task by name) into a validated ``Task``.

Layouts:

- ``improve`` (MLE-bench competition): ``description.md``, ``public/`` (train data and
  ``sample_submission.csv``), ``private/`` (answers), ``config.yaml`` naming the grader, and
  an optional ``leaderboard.csv``. The data may also sit under ``prepared/public`` and
  ``prepared/private`` as ``mlebench prepare`` writes it.
- ``replicate`` (PaperBench paper): ``paper.md``, ``rubric.json``, optional ``addendum.md``,
  ``blacklist.txt`` and ``config.yaml``.

Everything is validated before a ``Task`` exists, so a bad file never leaves a half-loaded task.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Literal

import yaml
from pydantic import ValidationError

from aiscientist.config import StrictModel
from aiscientist.errors import TaskError
from aiscientist.tasks import BUNDLED_DIR
from aiscientist.tasks.metrics import get_metric
from aiscientist.tasks.rubric import read_rubric
from aiscientist.tasks.task import Task


class DatasetConfig(StrictModel):
    """Where the answers and the sample submission live (MLE-bench ``dataset:``)."""

    answers: str = "private/answers.csv"
    """Answers file, relative to the task directory (or MLE-bench's ``<id>/prepared/...``)."""
    sample_submission: str = "public/sample_submission.csv"
    """Sample submission, relative to the task directory."""


class GraderConfig(StrictModel):
    """Which metric grades a submission (MLE-bench ``grader:``)."""

    name: str
    """Metric name, e.g. ``accuracy``, ``auc-roc``, ``root-mean-squared-error``."""
    grade_fn: str | None = None
    """MLE-bench's Python grade function; recorded, not imported (metrics are built in)."""


class CompetitionConfig(StrictModel):
    """``config.yaml`` of an MLE-bench competition, plus aiscientist's optional keys."""

    id: str
    """Competition id; the task's name."""
    name: str | None = None
    """Human-readable title."""
    kind: Literal["improve"] = "improve"
    """Always ``improve`` for a competition."""
    competition_type: str | None = None
    """MLE-bench's ``simple`` / ``code``; informational."""
    awards_medals: bool = True
    """Whether medals are computed from the leaderboard."""
    prizes: object = None
    """MLE-bench's prize table; informational."""
    description: str | None = None
    """Path of the description in MLE-bench's repo; ``description.md`` is always read."""
    dataset: DatasetConfig = DatasetConfig()
    """Answers and sample submission paths."""
    grader: GraderConfig
    """The metric."""
    preparer: str | None = None
    """MLE-bench's data preparer; informational."""
    lower_is_better: bool | None = None
    """Metric direction; default: the metric's own, else the leaderboard's order."""
    id_column: str | None = None
    """Row id column; default: the sample submission's first column."""
    target_columns: list[str] | None = None
    """Predicted columns; default: the sample submission's other columns."""


class PaperConfig(StrictModel):
    """``config.yaml`` of a PaperBench paper."""

    id: str
    """Paper id; the task's name."""
    title: str | None = None
    """Paper title."""
    kind: Literal["replicate"] = "replicate"
    """Always ``replicate`` for a paper."""


def list_bundled() -> list[str]:
    """Names of the tasks shipped with aiscientist."""
    if not BUNDLED_DIR.is_dir():
        return []
    return sorted(p.name for p in BUNDLED_DIR.iterdir() if p.is_dir() and p.name[0] not in "._")


def load_task(ref: str | Path) -> Task:
    """Load a task from a directory path or a bundled task name.

    Raises ``TaskError`` (``RubricError`` for rubrics) naming the file, field and problem.
    """
    path = Path(ref).expanduser()
    if not path.is_dir():
        if isinstance(ref, str) and (BUNDLED_DIR / ref).is_dir() and "/" not in ref:
            path = BUNDLED_DIR / ref
        else:
            raise TaskError(
                f"task {str(ref)!r} is neither a directory nor a bundled task; "
                f"bundled tasks are {list_bundled()}"
            )
    root = path.resolve()
    if (root / "paper.md").is_file() or (root / "rubric.json").is_file():
        return _load_paper(root)
    if (root / "description.md").is_file() or (root / "public").is_dir():
        return _load_competition(root)
    raise TaskError(
        f"{root}: not a task directory: expected paper.md and rubric.json (PaperBench) or "
        "description.md, public/ and private/ (MLE-bench)"
    )


def _read_text(path: Path, what: str) -> str:
    if not path.is_file():
        raise TaskError(f"{path}: missing {what}; create it")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskError(f"{path}: cannot read {what}: {exc}") from exc


def _read_yaml(path: Path) -> dict[str, object]:
    try:
        data = yaml.safe_load(_read_text(path, "config.yaml"))
    except yaml.YAMLError as exc:
        raise TaskError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise TaskError(f"{path}: must be a YAML mapping, got {type(data).__name__} {data!r:.80}")
    return data


def _validation_message(path: Path, exc: ValidationError) -> TaskError:
    problems = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        got = f" (got {err['input']!r:.60})" if "input" in err and err["type"] != "missing" else ""
        problems.append(f"field {field!r}: {err['msg']}{got}")
    return TaskError(f"{path}: " + "; ".join(problems))


def _load_paper(root: Path) -> Task:
    paper = root / "paper.md"
    text = _read_text(paper, "paper.md (the paper to replicate, as Markdown)")
    rubric = read_rubric(root / "rubric.json")
    name = root.name
    cfg_path = root / "config.yaml"
    if cfg_path.exists():
        try:
            cfg = PaperConfig.model_validate(_read_yaml(cfg_path))
        except ValidationError as exc:
            raise _validation_message(cfg_path, exc) from exc
        name = cfg.id
    addendum = ""
    if (root / "addendum.md").exists():
        addendum = _read_text(root / "addendum.md", "addendum.md")
    blacklist: tuple[str, ...] = ()
    if (root / "blacklist.txt").exists():
        lines = _read_text(root / "blacklist.txt", "blacklist.txt").splitlines()
        blacklist = tuple(
            s for s in (ln.strip() for ln in lines) if s and not s.startswith("#") and s != "none"
        )
    return Task(
        kind="replicate",
        name=name,
        root=root,
        description=text,
        rubric=rubric,
        paper=paper,
        addendum=addendum,
        blacklist=blacklist,
    )


def _resolve_data(root: Path, rel: str, default: str, field: str, cfg: Path) -> Path:
    """Find a data file named by config: as given, under ``prepared/``, or at the default."""
    candidates = [root / rel, root / "prepared" / rel]
    parts = Path(rel).parts
    if "prepared" in parts:  # MLE-bench writes "<id>/prepared/private/test.csv"
        tail = Path(*parts[parts.index("prepared") + 1 :])
        candidates += [root / "prepared" / tail, root / tail]
    candidates += [root / default, root / "prepared" / default]
    for c in candidates:
        if c.is_file():
            return c.resolve()
    raise TaskError(
        f"{cfg}: field {field!r} = {rel!r}: no such file under {root} (also tried "
        f"prepared/ and {default!r}); put the file there or fix the path"
    )


def _csv_header(path: Path) -> list[str]:
    try:
        with path.open(newline="") as fh:
            header = next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise TaskError(f"{path}: cannot read CSV header: {exc}") from exc
    return [h.strip() for h in header]


def _load_competition(root: Path) -> Task:
    description = _read_text(root / "description.md", "description.md (the task statement)")
    cfg_path = root / "config.yaml"
    if not cfg_path.is_file():
        raise TaskError(
            f"{cfg_path}: missing; an MLE-bench competition needs config.yaml with at least "
            "'id' and 'grader: {name: METRIC}'"
        )
    try:
        cfg = CompetitionConfig.model_validate(_read_yaml(cfg_path))
    except ValidationError as exc:
        raise _validation_message(cfg_path, exc) from exc
    try:
        metric = get_metric(cfg.grader.name)
    except KeyError as exc:
        raise TaskError(f"{cfg_path}: field 'grader.name': {exc.args[0]}") from exc
    sample = _resolve_data(
        root,
        cfg.dataset.sample_submission,
        "public/sample_submission.csv",
        "dataset.sample_submission",
        cfg_path,
    )
    answers = _resolve_data(
        root, cfg.dataset.answers, "private/answers.csv", "dataset.answers", cfg_path
    )
    header = _csv_header(sample)
    if len(header) < 2:
        raise TaskError(
            f"{sample}: header {header!r} needs an id column and at least one target column"
        )
    id_column = cfg.id_column or header[0]
    targets = tuple(cfg.target_columns or [h for h in header if h != id_column])
    for col in (id_column, *targets):
        if col not in header:
            raise TaskError(
                f"{cfg_path}: column {col!r} is not in the sample submission header {header!r}; "
                "fix id_column/target_columns"
            )
    if id_column not in _csv_header(answers):
        raise TaskError(f"{answers}: answers have no id column {id_column!r}")
    leaderboard = root / "leaderboard.csv"
    lb_path = leaderboard.resolve() if leaderboard.is_file() else None
    if lb_path is not None and "score" not in _csv_header(lb_path):
        raise TaskError(f"{lb_path}: leaderboard needs a 'score' column")
    lower = cfg.lower_is_better
    if lower is None:
        lower = metric.lower_is_better
    return Task(
        kind="improve",
        name=cfg.id,
        root=root,
        description=description,
        metric=metric.name,
        lower_is_better=lower,
        sample_submission=sample,
        answers=answers,
        leaderboard=lb_path if cfg.awards_medals else None,
        id_column=id_column,
        target_columns=targets,
    )
