"""Is a submission CSV well-formed against ``sample_submission.csv``?"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

_MAX_LISTED = 5


def read_csv_str(path: Path) -> pd.DataFrame:
    """A CSV with every cell as a string (ids compare exactly; empty cells become NaN)."""
    return pd.read_csv(path, dtype=str, keep_default_na=True)


def _listed(values: list[str]) -> str:
    shown = ", ".join(repr(v) for v in values[:_MAX_LISTED])
    more = len(values) - _MAX_LISTED
    return shown + (f" and {more} more" if more > 0 else "")


def check_submission(
    submission_csv: Path, sample_csv: Path, id_column: str | None = None
) -> list[str]:
    """Problems that make ``submission_csv`` ungradable; an empty list means valid.

    Checks: the file exists and parses; same columns as the sample; same row count; the same
    ids, each once; no empty (NaN) cells. ``id_column`` defaults to the sample's first column.
    """
    submission_csv, sample_csv = Path(submission_csv), Path(sample_csv)
    if not submission_csv.is_file():
        return [f"submission {str(submission_csv)!r} does not exist; write it there"]
    try:
        sub = read_csv_str(submission_csv)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        return [f"submission {str(submission_csv)!r} is not a readable CSV: {exc}"]
    sample = read_csv_str(sample_csv)
    id_col = id_column or str(sample.columns[0])
    problems: list[str] = []
    missing = [c for c in sample.columns if c not in sub.columns]
    extra = [c for c in sub.columns if c not in sample.columns]
    if missing:
        problems.append(
            f"missing columns {_listed(missing)}; the header must be {list(sample.columns)!r}"
        )
    if extra:
        problems.append(
            f"unexpected columns {_listed(extra)}; the header must be {list(sample.columns)!r}"
        )
    if len(sub) != len(sample):
        problems.append(f"{len(sub)} rows, expected {len(sample)} (one per row of the sample)")
    if id_col in sub.columns:
        ids = sub[id_col]
        dup = sorted(set(ids[ids.duplicated()].astype(str)))
        if dup:
            problems.append(f"duplicate ids in column {id_col!r}: {_listed(dup)}")
        want, got = set(sample[id_col].astype(str)), set(ids.astype(str))
        if want - got:
            problems.append(f"ids missing from the submission: {_listed(sorted(want - got))}")
        if got - want:
            problems.append(f"ids not in the sample submission: {_listed(sorted(got - want))}")
    nan_cols = [str(c) for c in sub.columns if c in sample.columns and sub[c].isna().any()]
    if nan_cols:
        counts = {c: int(sub[c].isna().sum()) for c in nan_cols}
        problems.append(f"empty/NaN cells (column: count): {counts!r}; fill every cell")
    return problems


class CachedCheck:
    """``check()`` re-run only when ``path`` changed (size or mtime): agents ask what stops a
    submission from being valid after every tool call, and reading CSVs each time is waste."""

    def __init__(self, path: Path, check: Callable[[], list[str]]) -> None:
        self.path = path
        self.check = check
        self._key: object = None
        self._problems: list[str] = []

    def __call__(self) -> list[str]:
        try:
            st = self.path.stat()
            key: object = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            key = "missing"
        if key != self._key:
            self._key, self._problems = key, self.check()
        return self._problems
