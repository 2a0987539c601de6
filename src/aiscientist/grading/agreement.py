"""How far a rubric judge is to be trusted: its measured agreement with expected leaf verdicts.

``scripts/bench/judge_agreement.py`` grades three submissions of the bundled paper (correct,
empty, wrong numbers) with each judge model and counts how often the model's verdicts match
the expected ones; ``--record`` stores the result per model spec in the packaged
``judge_agreement.json``. A judge measured below ``grading.min_judge_agreement`` is not a
default: ``grade_run`` refuses it unless ``models.judge`` names it, and warns when it is used.
A judge never measured is used without a warning (nothing is known against it).
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from aiscientist.errors import ConfigError, GradingError

AGREEMENT_FILE = Path(__file__).resolve().parent / "judge_agreement.json"
DEFAULT_MIN_AGREEMENT = 0.8


class Measurement(msgspec.Struct, frozen=True):
    """One judge model's agreement with the expected verdicts of the leaves it judged."""

    agreement: float
    """Fraction of model-judged leaves whose verdict matched the expectation."""
    leaves: int
    """How many model-judged leaves the fraction is over."""
    measured_at: str = ""
    command: str = ""


class AgreementTable(msgspec.Struct, frozen=True):
    """``judge_agreement.json``: model spec -> measurement."""

    models: dict[str, Measurement] = {}
    schema_version: int = 1


def read_table(path: Path = AGREEMENT_FILE) -> AgreementTable:
    """The stored measurements (empty when none were recorded)."""
    if not path.is_file():
        return AgreementTable()
    try:
        return msgspec.json.decode(path.read_bytes(), type=AgreementTable)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ConfigError(f"judge agreement table {str(path)!r} is not valid: {exc}") from exc


def record(spec: str, measurement: Measurement, path: Path = AGREEMENT_FILE) -> None:
    """Store ``measurement`` as ``spec``'s in the table at ``path``."""
    table = read_table(path)
    models = {**table.models, spec: measurement}
    data = msgspec.json.format(msgspec.json.encode(AgreementTable(models=models)), indent=2)
    path.write_bytes(data + b"\n")


def min_agreement(config: dict[str, object]) -> float:
    """``grading.min_judge_agreement`` of a run's config (the default when absent)."""
    grading = config.get("grading")
    value = grading.get("min_judge_agreement") if isinstance(grading, dict) else None
    return float(value) if isinstance(value, int | float) else DEFAULT_MIN_AGREEMENT


def explicit_judge(config: dict[str, object]) -> str | None:
    """``models.judge`` when the run's config names one, else None (the default is used)."""
    models = config.get("models")
    judge = models.get("judge") if isinstance(models, dict) else None
    return str(judge) if judge else None


def agreement_problem(spec: str, bar: float, path: Path = AGREEMENT_FILE) -> str:
    """Why ``spec`` is below the bar as a judge, or ``""`` (measured at or above it, or never
    measured)."""
    m = read_table(path).models.get(spec)
    if m is None or m.agreement >= bar:
        return ""
    return (
        f"judge {spec!r} agreed with the expected leaf verdicts on {m.agreement:.0%} of "
        f"{m.leaves} leaves of the bundled rff-ridge paper (scripts/bench/judge_agreement.py), "
        f"below grading.min_judge_agreement={bar:g}"
    )


def how_to_fix(spec: str) -> str:
    """What to configure instead of a judge below the bar."""
    return (
        "set models.judge to a stronger judge (a litellm model string such as "
        "openai/gpt-4o or anthropic/claude-sonnet-4-5, with its API key in the environment): "
        "--set models.judge=... when starting a run, or config.models.judge in the run's "
        f"run.json before 'aiscientist grade'; to accept {spec!r} anyway set "
        f"models.judge={spec} explicitly (or lower grading.min_judge_agreement)"
    )


def check_judge(
    config: dict[str, object], spec: str, built: bool, path: Path = AGREEMENT_FILE
) -> str:
    """The warning for judge ``spec`` when its measured agreement is below the run config's
    ``grading.min_judge_agreement`` (``""`` when it is not).

    A default judge about to be built (``built`` false, ``models.judge`` unset) below the bar
    raises ``GradingError`` naming the judge to configure; a judge named in ``models.judge``,
    or one the caller built, is used, and the warning is logged and kept in ``grade.json``.
    """
    problem = agreement_problem(spec, min_agreement(config), path)
    if problem and not built and explicit_judge(config) is None:
        raise GradingError(f"refusing the default judge: {problem}; {how_to_fix(spec)}")
    return problem
