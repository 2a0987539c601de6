"""Load a task directory (or a bundled task by name) into a validated ``Task``.

Layouts:

- ``improve`` (MLE-bench competition): ``description.md``, ``public/`` (train data and
  ``sample_submission.csv``), ``private/`` (answers), ``config.yaml`` naming the grader, and
  an optional ``leaderboard.csv``. The data may also sit under ``prepared/public`` and
  ``prepared/private`` as ``mlebench prepare`` writes it.
- ``replicate`` (PaperBench paper): ``paper.md``, ``rubric.json``, optional ``addendum.md``,
  ``blacklist.txt`` and ``config.yaml``.

Everything is validated before a ``Task`` exists, so a bad file never leaves a half-loaded task.
Whatever a task directory holds, loading it either returns a ``Task`` or raises ``TaskError``
naming the file, the field and the value: bad YAML or JSON, wrong types, missing columns, bad
encodings, paths or symlinks that leave the task directory, and symlinks from the files agents
see into the hidden ones (``private/``, the leaderboard, the rubric) are all refused.
"""

from __future__ import annotations

import csv
import os
import re
import reprlib
from pathlib import Path
from typing import Literal

import yaml
from pydantic import ValidationError

from aiscientist.config import StrictModel
from aiscientist.errors import TaskError
from aiscientist.tasks import BUNDLED_DIR
from aiscientist.tasks.metrics import get_metric
from aiscientist.tasks.rubric import read_rubric
from aiscientist.tasks.task import HIDDEN_TOP_LEVEL, Task, TaskKind

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
"""A task id: it names the run directory (``<id>-<time>-<suffix>``) and the run's actors."""

_short = reprlib.Repr()
_short.maxstring = _short.maxother = 80
_short.maxlevel = 3


def show(value: object) -> str:
    """``repr`` of a value from a task file, bounded (a value can be huge or deeply nested)."""
    return _short.repr(value)


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
    group_column: str | None = None
    """A column of ``train.csv`` and ``test.csv`` grouping rows (e.g. ``site_id``) whose
    groups in the test set are absent from train: a dev split must hold out whole groups."""


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
    try:
        path = Path(ref).expanduser()
        if not path.is_dir():
            if isinstance(ref, str) and "/" not in ref and (BUNDLED_DIR / ref).is_dir():
                path = BUNDLED_DIR / ref
            else:
                raise TaskError(
                    f"task {show(str(ref))} is neither a directory nor a bundled task; "
                    f"bundled tasks are {list_bundled()}"
                )
        root = path.resolve()
        is_paper = (root / "paper.md").is_file() or (root / "rubric.json").is_file()
        is_competition = (root / "description.md").is_file() or (root / "public").is_dir()
    except (OSError, ValueError, RuntimeError) as exc:  # NUL byte, name too long, link loop
        raise TaskError(f"task {show(str(ref))} cannot be opened: {exc}") from exc
    if is_paper:
        _check_links(root, "replicate")
        return _load_paper(root)
    if is_competition:
        _check_links(root, "improve")
        return _load_competition(root)
    raise TaskError(
        f"{root}: not a task directory: expected paper.md and rubric.json (PaperBench) or "
        "description.md, public/ and private/ (MLE-bench)"
    )


def _check_links(root: Path, kind: TaskKind) -> None:
    """Refuse symlinks that leave the task directory (agents get a copy of the public files, so
    a link to ``/etc`` or ``~/.ssh`` would hand them the host's files; the grader would read an
    answers file from anywhere) and links from what agents see into what they must not."""
    hidden = HIDDEN_TOP_LEVEL[kind]
    for link in _symlinks(root):
        rel = link.relative_to(root).as_posix()
        try:
            target = link.resolve(strict=True)
        except (OSError, RuntimeError) as exc:
            raise TaskError(
                f"{link}: symlink {rel!r} -> {os.readlink(link)!r} cannot be followed "
                f"({exc}); replace it with the file or remove it"
            ) from exc
        if not target.is_relative_to(root):
            raise TaskError(
                f"{link}: symlink {rel!r} points to {str(target)!r}, outside the task "
                f"directory {str(root)!r}; copy the file into the task instead"
            )
        into = target.relative_to(root).parts
        if rel.split("/")[0] not in hidden and into and into[0] in hidden:
            raise TaskError(
                f"{link}: symlink {rel!r} points to {target.relative_to(root).as_posix()!r}, "
                "which agents must not see; agents would read it through the link"
            )


def _symlinks(root: Path) -> list[Path]:
    """Every symlink under ``root``, not following any (one ``scandir`` per directory)."""
    found, todo = [], [str(root)]
    while todo:
        try:
            with os.scandir(todo.pop()) as entries:
                for entry in entries:
                    if entry.is_symlink():
                        found.append(Path(entry.path))
                    elif entry.is_dir(follow_symlinks=False):
                        todo.append(entry.path)
        except OSError as exc:
            raise TaskError(f"{exc.filename}: cannot list the task directory: {exc}") from exc
    return found


def _read_text(path: Path, what: str) -> str:
    if not path.is_file():
        raise TaskError(f"{path}: missing {what}; create it")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskError(f"{path}: cannot read {what}: {exc}") from exc


def _read_yaml(path: Path) -> dict[str, object]:
    text = _read_text(path, "config.yaml")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TaskError(f"{path}: not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise TaskError(f"{path}: nested too deeply to read; a task config is flat") from exc
    except (ValueError, TypeError, OverflowError) as exc:  # a date or number YAML cannot build
        raise TaskError(f"{path}: holds a value YAML cannot build: {exc}") from exc
    if not isinstance(data, dict):
        raise TaskError(f"{path}: must be a YAML mapping, got {type(data).__name__} {show(data)}")
    return data


def _validation_message(path: Path, exc: ValidationError) -> TaskError:
    problems = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        got = f" (got {show(err['input'])})" if "input" in err and err["type"] != "missing" else ""
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
        name = _check_id(cfg_path, cfg.id)
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


def _check_id(cfg: Path, task_id: str) -> str:
    if not _NAME.fullmatch(task_id):
        raise TaskError(
            f"{cfg}: field 'id' = {show(task_id)} is not a plain name (letters, digits, '.', "
            "'_', '-'; at most 128, starting with a letter or digit): it names the run "
            "directory; rename it"
        )
    return task_id


def _resolve_data(root: Path, rel: str, default: str, field: str, cfg: Path) -> Path:
    """Find a data file named by config: as given, under ``prepared/``, or at the default;
    always inside the task directory."""
    where = f"{cfg}: field {field!r} = {show(rel)}"
    if "\0" in rel or Path(rel).is_absolute() or ".." in Path(rel).parts:
        raise TaskError(
            f"{where}: must be a path relative to the task directory, inside it; fix the path"
        )
    candidates = [root / rel, root / "prepared" / rel]
    parts = Path(rel).parts
    if "prepared" in parts:  # MLE-bench writes "<id>/prepared/private/test.csv"
        tail = Path(*parts[parts.index("prepared") + 1 :])
        candidates += [root / "prepared" / tail, root / tail]
    candidates += [root / default, root / "prepared" / default]
    for c in candidates:
        try:
            found = c.is_file()
        except OSError as exc:  # a name too long
            raise TaskError(f"{where}: unusable path ({exc.strerror}); fix the path") from exc
        if found:
            return c.resolve()
    raise TaskError(
        f"{where}: no such file under {root} (also tried "
        f"prepared/ and {default!r}); put the file there or fix the path"
    )


def _csv_header(path: Path) -> list[str]:
    """The first row of a CSV (UTF-8, a byte-order mark allowed); only the header is read."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            header = next(csv.reader(fh), [])
    except UnicodeDecodeError as exc:
        raise TaskError(
            f"{path}: header is not UTF-8 (byte {exc.object[exc.start : exc.start + 1]!r} at "
            f"offset {exc.start}); save the file as UTF-8"
        ) from exc
    except (OSError, csv.Error) as exc:
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
    _check_id(cfg_path, cfg.id)
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
            f"{sample}: header {show(header)} needs an id column and at least one target column"
        )
    id_column = cfg.id_column or header[0]
    targets = tuple(cfg.target_columns or [h for h in header if h != id_column])
    for col in (id_column, *targets):
        if col not in header:
            raise TaskError(
                f"{cfg_path}: column {show(col)} is not in the sample submission header "
                f"{show(header)} (in {str(sample)!r}); fix id_column/target_columns or the file"
            )
    if cfg.group_column is not None:
        train_csv = root / "public" / "train.csv"
        if train_csv.is_file() and cfg.group_column not in _csv_header(train_csv):
            raise TaskError(
                f"{cfg_path}: field 'group_column' = {cfg.group_column!r} is not a column of "
                f"{train_csv}; fix the name or drop the field"
            )
    if id_column not in _csv_header(answers):
        raise TaskError(
            f"{answers}: answers have no id column {show(id_column)} (header "
            f"{show(_csv_header(answers))}); add it or fix id_column in {cfg_path}"
        )
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
        group_column=cfg.group_column,
    )
