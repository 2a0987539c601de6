"""Malformed tasks thrown at the loaders (hypothesis): every one loads or raises ``TaskError``
(``RubricError`` for rubrics) naming the file, and the field and value where there is one;
never a raw traceback. Symlinks that leave the task directory, or reach its hidden answers
from the part agents see, are refused."""

from __future__ import annotations

import copy
import json
import math
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aiscientist.errors import RubricError, TaskError
from aiscientist.tasks import load_task
from aiscientist.tasks.rubric import parse_rubric, read_rubric

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

CONFIG = {
    "id": "fuzz-comp",
    "name": "Fuzz",
    "grader": {"name": "accuracy"},
    "dataset": {
        "answers": "private/answers.csv",
        "sample_submission": "public/sample_submission.csv",
    },
    "id_column": "id",
    "target_columns": ["target"],
    "awards_medals": True,
}
FILES = {
    "description.md": "# Fuzz\nPredict the target.\n",
    "public/train.csv": "id,x,target\n1,0.5,a\n2,0.1,b\n",
    "public/test.csv": "id,x\n3,0.2\n",
    "public/sample_submission.csv": "id,target\n3,a\n",
    "private/answers.csv": "id,target\n3,b\n",
    "leaderboard.csv": "teamName,score\nx,0.9\n",
}


@contextmanager
def competition(
    config: object = None, files: dict[str, str | bytes] | None = None
) -> Iterator[Path]:
    """A small valid competition in a fresh directory, with ``files`` (and ``config``,
    dumped as YAML unless it is already text) replacing the defaults."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "comp"
        content: dict[str, str | bytes] = {**FILES, **(files or {})}
        if "config.yaml" not in content:
            cfg = CONFIG if config is None else config
            content["config.yaml"] = cfg if isinstance(cfg, str | bytes) else yaml.safe_dump(cfg)
        for rel, data in content.items():
            p = root / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data if isinstance(data, bytes) else data.encode())
        yield root


def load_or_error(root: Path) -> TaskError | None:
    """None when the task loads; its ``TaskError`` otherwise (anything else fails the test)."""
    try:
        load_task(root)
    except TaskError as exc:
        return exc
    return None


# Values a YAML or JSON file can hold, nested a little.
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)


def test_the_fixture_competition_loads() -> None:
    with competition() as root:
        task = load_task(root)
    assert (task.name, task.metric, task.target_columns) == ("fuzz-comp", "accuracy", ("target",))


@FUZZ
@given(raw=st.binary(max_size=600) | st.text(max_size=600).map(str.encode))
def test_garbage_config_yaml_is_a_task_error_naming_the_file(raw: bytes) -> None:
    with competition(files={"config.yaml": raw}) as root:
        err = load_or_error(root)
    if err is not None:
        assert "config.yaml" in str(err), err


@FUZZ
@given(
    field=st.sampled_from(
        ["id", "name", "grader", "dataset", "id_column", "target_columns", "awards_medals"]
    ),
    value=values,
)
def test_a_config_field_of_any_type_is_loaded_or_named(field: str, value: object) -> None:
    with competition(config={**CONFIG, field: value}) as root:
        err = load_or_error(root)
    if err is not None:
        assert "config.yaml" in str(err) or "sample_submission.csv" in str(err), err
        assert field in str(err), err


@FUZZ
@given(
    field=st.sampled_from(["grader.name", "dataset.answers", "dataset.sample_submission"]),
    value=values,
)
def test_a_nested_config_field_of_any_type_is_loaded_or_named(field: str, value: object) -> None:
    outer, inner = field.split(".")
    cfg = json.loads(json.dumps(CONFIG))
    cfg[outer][inner] = value
    with competition(config=cfg) as root:
        err = load_or_error(root)
    if err is not None:
        assert "config.yaml" in str(err), err
        assert field in str(err), err


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("dataset.answers", "/etc/passwd"),
        ("dataset.answers", "../../../etc/passwd"),
        ("dataset.sample_submission", "public/\0sample.csv"),
        ("dataset.sample_submission", "x" * 5000),
    ],
)
def test_data_paths_outside_the_task_or_unusable_are_named(field: str, value: str) -> None:
    outer, inner = field.split(".")
    cfg = json.loads(json.dumps(CONFIG))
    cfg[outer][inner] = value
    with competition(config=cfg) as root:
        err = load_or_error(root)
    assert err is not None
    assert "config.yaml" in str(err) and field in str(err) and repr(value)[:30] in str(err), err


@pytest.mark.parametrize("task_id", ["../../escape", "a/b", "..", "", "x\0y", "two words"])
def test_a_task_id_that_is_no_plain_name_is_refused(task_id: str) -> None:
    """The id names the run directory (``runs/<id>-<time>``): it may not climb out of it."""
    with competition(config={**CONFIG, "id": task_id}) as root:
        err = load_or_error(root)
    assert err is not None and "'id'" in str(err) and repr(task_id) in str(err), err


@pytest.mark.parametrize(
    "text",
    [
        "id: x\ngrader: {name: accuracy}\nwhen: 2020-13-45\n",  # a date YAML cannot build
        "[" * 5000 + "]" * 5000,  # nested past any recursion limit
        "id: x\ngrader: !!python/object:os.system {}\n",  # a tag safe_load refuses
        "id: &a [*a]\n",
        "id: " + "9" * 5000 + "\ngrader: {name: accuracy}\n",
    ],
    ids=["bad-date", "deep", "python-tag", "alias", "huge-int"],
)
def test_config_yaml_yaml_cannot_build_is_named(text: str) -> None:
    with competition(files={"config.yaml": text}) as root:
        err = load_or_error(root)
    assert err is not None and "config.yaml" in str(err), err


# ---- CSVs: wrong columns, NaN, huge lines, bad encodings ----

csv_texts = st.one_of(
    st.text(max_size=300),
    st.binary(max_size=300).map(lambda b: b.decode("latin-1")),
    st.lists(
        st.sampled_from(["id", "target", "NaN", "nan", "", "x", '"', ",", "\n"]), max_size=12
    ).map("".join),
)
csv_bytes = st.one_of(
    csv_texts.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=300),
    st.text(min_size=1, max_size=40).map(lambda t: ("id,ta\u0155get\n" + t).encode("utf-16")),
    st.just(b"id," + b"x" * 300_000 + b"\n1,2\n"),  # one huge line
    st.just(b"id,target\x00\n1,2\n"),  # a NUL byte
    st.just(b"\xff\xfe\x00garbage"),
)


@FUZZ
@given(
    name=st.sampled_from(
        ["public/sample_submission.csv", "private/answers.csv", "leaderboard.csv"]
    ),
    data=csv_bytes,
)
def test_a_malformed_csv_is_loaded_or_named(name: str, data: bytes) -> None:
    with competition(files={name: data}) as root:
        err = load_or_error(root)
    if err is not None:
        assert Path(name).name in str(err), err


@pytest.mark.parametrize(
    ("name", "data", "needle"),
    [
        ("public/sample_submission.csv", b"id\n3\n", "target"),
        ("public/sample_submission.csv", b"ident,target\n3,a\n", "'id'"),
        ("private/answers.csv", b"row,target\n3,b\n", "'id'"),
        ("leaderboard.csv", b"team,points\nx,1\n", "'score'"),
        ("public/sample_submission.csv", b"id,target\n" + b"\xe9\xff\n", "UTF-8"),
        ("public/sample_submission.csv", b"", "header"),
    ],
)
def test_wrong_columns_name_the_file_and_column(name: str, data: bytes, needle: str) -> None:
    with competition(files={name: data}) as root:
        err = load_or_error(root)
    assert err is not None and Path(name).name in str(err) and needle in str(err), err


def test_a_utf8_bom_does_not_hide_the_id_column() -> None:
    bom = "\ufeff".encode()
    files: dict[str, str | bytes] = {
        "public/sample_submission.csv": bom + b"id,target\n3,a\n",
        "private/answers.csv": bom + b"id,target\n3,b\n",
    }
    with competition(files=files) as root:
        task = load_task(root)
    assert task.id_column == "id"


# ---- symlinks in task directories ----


def _link(root: Path, rel: str, target: str | Path) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    if p.exists() or p.is_symlink():
        p.unlink()
    p.symlink_to(target)


@pytest.mark.parametrize(
    ("rel", "target", "needle"),
    [
        ("public/passwd.csv", "/etc/passwd", "/etc/passwd"),
        ("public/host", "/etc", "/etc"),
        ("public/sample_submission.csv", "/etc/hostname", "/etc/hostname"),
        ("public/answers.csv", "../private/answers.csv", "private"),
        ("public/peek", "../private", "private"),
        ("description.md", "leaderboard.csv", "leaderboard.csv"),
        ("public/loop", "loop", "loop"),
        ("private/answers.csv", "/etc/passwd", "/etc/passwd"),
    ],
)
def test_symlinks_that_leave_the_task_or_reach_hidden_files_are_refused(
    rel: str, target: str, needle: str
) -> None:
    with competition() as root:
        _link(root, rel, target)
        err = load_or_error(root)
    assert err is not None, "a symlink that leaks host or hidden files was accepted"
    assert rel in str(err) and needle in str(err), err


def test_symlinks_inside_the_visible_task_are_fine() -> None:
    with competition() as root:
        _link(root, "public/train_copy.csv", "train.csv")
        _link(root, "private/also.csv", "answers.csv")
        task = load_task(root)
        assert Path("public/train_copy.csv") in task.public_files()


def test_a_task_directory_that_is_itself_a_symlink_loads(tmp_path: Path) -> None:
    with competition() as root:
        shutil.copytree(root, tmp_path / "real")
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    assert load_task(tmp_path / "alias").root == (tmp_path / "real").resolve()


@pytest.mark.parametrize("ref", ["bad\0name", "x" * 5000, "/" + "y" * 300])
def test_an_unusable_task_reference_is_a_task_error(ref: str) -> None:
    with pytest.raises(TaskError, match="task"):
        load_task(ref)


# ---- rubric.json ----


def _nodes(tree: dict) -> list[dict]:
    return [tree] + [n for c in tree.get("sub_tasks") or [] for n in _nodes(c)]


@FUZZ
@given(
    which=st.integers(min_value=0, max_value=4),
    field=st.sampled_from(
        ["id", "requirements", "weight", "sub_tasks", "task_category", "finegrained_task_category"]
    ),
    value=values,
)
def test_a_rubric_field_of_any_type_is_parsed_or_named(
    rubric_dict: dict, which: int, field: str, value: object
) -> None:
    tree = copy.deepcopy(rubric_dict)
    _nodes(tree)[which][field] = value
    try:
        root = parse_rubric(json.loads(json.dumps(tree)), "fuzz/rubric.json")
    except RubricError as err:
        # the node, and the field at fault (or the one its change broke: a node stripped of
        # its sub_tasks is a leaf that now needs a task_category)
        assert "fuzz/rubric.json: node root" in str(err), err
        assert any(f in str(err) for f in (field, "task_category", "weight")), err
        return
    for node in root.walk():  # what parses is well-formed
        assert isinstance(node.requirements, str) and math.isfinite(node.weight)
        assert node.weight >= 0


@FUZZ
@given(raw=st.binary(max_size=400) | values.map(lambda v: json.dumps(v).encode()))
def test_garbage_rubric_json_is_a_rubric_error_naming_the_file(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rubric.json"
        path.write_bytes(raw)
        with pytest.raises(RubricError) as info:
            read_rubric(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (
            '{"id": "r", "requirements": "x", "weight": NaN, "task_category": "Code Execution"}',
            "nan",
        ),
        (
            '{"id": "r", "requirements": "x", "weight": 1e999, "task_category": "Code Execution"}',
            "inf",
        ),
        (
            '{"id": "r", "requirements": "x", "weight": '
            + "9" * 400
            + ', "task_category": "Code Execution"}',
            "weight",
        ),
        ('{"id": "r", "requirements": "x", "weight": ' + "9" * 5000 + "}", "rubric.json"),
        ('{"sub_tasks": ' * 3000 + "{}" + "}" * 3000, "rubric.json"),
        ("\udcff", "rubric.json"),
    ],
    ids=["nan", "inf", "overflow", "int-digits", "deep", "bad-utf8"],
)
def test_rubric_numbers_and_nesting_json_allows_but_a_tree_cannot_use(
    tmp_path: Path, text: str, needle: str
) -> None:
    path = tmp_path / "rubric.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(RubricError) as info:
        read_rubric(path)
    assert str(path) in str(info.value) and needle in str(info.value), info.value


def test_a_rubric_nested_deeper_than_any_paper_is_refused_with_its_depth() -> None:
    tree: dict = {"id": "leaf", "requirements": "x", "weight": 1, "task_category": "Code Execution"}
    for i in range(300):
        tree = {"id": f"n{i}", "requirements": "x", "weight": 1, "sub_tasks": [tree]}
    with pytest.raises(RubricError, match=r"rubric\.json.*deep"):
        parse_rubric(tree)


def test_symlinked_rubric_outside_the_paper_is_refused(paper_dir: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere.json"
    shutil.copy(paper_dir / "rubric.json", outside)
    (paper_dir / "rubric.json").unlink()
    (paper_dir / "rubric.json").symlink_to(outside)
    with pytest.raises(TaskError, match=r"rubric\.json.*elsewhere\.json"):
        load_task(paper_dir)
