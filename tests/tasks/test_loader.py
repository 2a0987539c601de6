"""Loading tasks: bundled ones load; every malformed input names its file, field and problem."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from aiscientist.errors import RubricError, TaskError
from aiscientist.tasks import list_bundled, load_task

IMPROVE = ["friedman-regression", "interaction-classification", "tabular-cancer"]


def test_bundled_tasks_include_three_improve_and_one_replicate() -> None:
    names = list_bundled()
    kinds = {n: load_task(n).kind for n in names}
    assert [n for n in IMPROVE if kinds.get(n) == "improve"] == IMPROVE
    assert "replicate" in kinds.values()


@pytest.mark.parametrize("name", IMPROVE)
def test_bundled_competition_loads_with_metric_and_hides_private_files(name: str) -> None:
    task = load_task(name)
    assert task.name == name and task.root.is_absolute()
    assert task.answers is not None and task.answers.is_file()
    assert task.sample_submission is not None and task.sample_submission.is_file()
    assert task.leaderboard is not None and task.leaderboard.is_file()
    assert task.id_column == "id" and task.target_columns == ("target",)
    public = [p.as_posix() for p in task.public_files()]
    assert "public/train.csv" in public and "description.md" in public
    assert not any(p.startswith("private") or p == "leaderboard.csv" for p in public)
    for p in task.root.rglob("*.csv"):
        assert p.stat().st_size < 1_000_000, p


def test_load_by_path_equals_load_by_name() -> None:
    by_name = load_task("tabular-cancer")
    assert load_task(by_name.root) == by_name
    assert by_name.metric == "accuracy" and by_name.lower_is_better is False


def test_unknown_task_lists_bundled_names() -> None:
    with pytest.raises(TaskError, match="no-such-task.*tabular-cancer"):
        load_task("no-such-task")


def test_missing_description_is_named(competition_dir: Path) -> None:
    (competition_dir / "description.md").unlink()
    with pytest.raises(TaskError, match=r"description\.md"):
        load_task(competition_dir)


def test_missing_config_is_named(competition_dir: Path) -> None:
    (competition_dir / "config.yaml").unlink()
    with pytest.raises(TaskError, match=r"config\.yaml.*grader"):
        load_task(competition_dir)


def test_config_without_grader_names_the_field(competition_dir: Path) -> None:
    (competition_dir / "config.yaml").write_text("id: x\n")
    with pytest.raises(TaskError, match=r"config\.yaml.*'grader'.*[Ff]ield required"):
        load_task(competition_dir)


def test_unknown_metric_names_field_and_choices(competition_dir: Path) -> None:
    cfg = competition_dir / "config.yaml"
    cfg.write_text(cfg.read_text().replace("name: accuracy", "name: vibes"))
    with pytest.raises(TaskError, match=r"grader\.name.*'vibes'.*accuracy"):
        load_task(competition_dir)


def test_unknown_config_key_is_named(competition_dir: Path) -> None:
    cfg = competition_dir / "config.yaml"
    cfg.write_text(cfg.read_text() + "metrc: rmse\n")
    with pytest.raises(TaskError, match=r"'metrc'.*[Ee]xtra"):
        load_task(competition_dir)


def test_config_that_is_not_yaml_mapping(competition_dir: Path) -> None:
    (competition_dir / "config.yaml").write_text("- just\n- a list\n")
    with pytest.raises(TaskError, match=r"config\.yaml.*mapping"):
        load_task(competition_dir)


def test_missing_answers_names_dataset_field(competition_dir: Path) -> None:
    (competition_dir / "private" / "answers.csv").unlink()
    with pytest.raises(TaskError, match=r"dataset\.answers.*private/answers\.csv"):
        load_task(competition_dir)


def test_target_column_not_in_sample_is_named(competition_dir: Path) -> None:
    cfg = competition_dir / "config.yaml"
    cfg.write_text(cfg.read_text().replace("target_columns: [target]", "target_columns: [label]"))
    with pytest.raises(TaskError, match=r"'label'.*sample submission header"):
        load_task(competition_dir)


def test_mlebench_prepared_layout_and_defaults(tmp_path: Path, competition_dir: Path) -> None:
    """Data under prepared/, MLE-bench's answers path, no id/target/direction keys."""
    comp = tmp_path / "mle"
    (comp / "prepared").mkdir(parents=True)
    (competition_dir / "public").rename(comp / "prepared" / "public")
    (competition_dir / "private").rename(comp / "prepared" / "private")
    (comp / "description.md").write_text("desc")
    (comp / "config.yaml").write_text(
        "id: mle\nname: M\ncompetition_type: simple\nawards_medals: false\nprizes: null\n"
        "description: mlebench/competitions/mle/description.md\n"
        "dataset:\n  answers: mle/prepared/private/answers.csv\n"
        "  sample_submission: mle/prepared/public/sample_submission.csv\n"
        "grader:\n  name: multi-class-classification-accuracy\n"
        "  grade_fn: mlebench.competitions.mle.grade:grade\n"
        "preparer: mlebench.competitions.mle.prepare:prepare\n"
    )
    task = load_task(comp)
    assert task.metric == "accuracy" and task.lower_is_better is False
    assert task.answers == (comp / "prepared" / "private" / "answers.csv").resolve()
    assert task.id_column == "id" and task.target_columns == ("target",)
    assert task.leaderboard is None


# ---- PaperBench paper directories ----


def test_paper_dir_loads_everything(paper_dir: Path) -> None:
    task = load_task(paper_dir)
    assert task.kind == "replicate" and task.name == "tiny-paper"
    assert task.rubric is not None and [n.id for n in task.rubric.leaves()] == ["a1", "a2", "b"]
    assert task.addendum == "Use seed 0.\n"
    assert task.blacklist == ("https://github.com/example/original",)
    public = [p.as_posix() for p in task.public_files()]
    assert public == ["addendum.md", "blacklist.txt", "paper.md"]


def test_missing_paper_md_is_named(paper_dir: Path) -> None:
    (paper_dir / "paper.md").unlink()
    with pytest.raises(TaskError, match=r"paper\.md"):
        load_task(paper_dir)


def test_missing_rubric_is_named(paper_dir: Path) -> None:
    (paper_dir / "rubric.json").unlink()
    with pytest.raises(RubricError, match=r"rubric\.json"):
        load_task(paper_dir)


def test_bad_json_rubric_names_file_and_line(paper_dir: Path) -> None:
    (paper_dir / "rubric.json").write_text('{"id": "root",\n "weight": 1,,}')
    with pytest.raises(RubricError, match=r"rubric\.json: not valid JSON at line 2"):
        load_task(paper_dir)


def _write_rubric(paper_dir: Path, mutate: Callable[[dict], object]) -> None:
    rubric = json.loads((paper_dir / "rubric.json").read_text())
    mutate(rubric)
    (paper_dir / "rubric.json").write_text(json.dumps(rubric))


def test_negative_weight_names_node(paper_dir: Path) -> None:
    _write_rubric(paper_dir, lambda r: r["sub_tasks"][0]["sub_tasks"][1].update(weight=-2))
    with pytest.raises(RubricError, match=r"id='a2'.*'weight' is negative \(-2\)"):
        load_task(paper_dir)


def test_missing_weight_names_node(paper_dir: Path) -> None:
    _write_rubric(paper_dir, lambda r: r["sub_tasks"][1].pop("weight"))
    with pytest.raises(RubricError, match=r"sub_tasks\[1\].*missing field 'weight'"):
        load_task(paper_dir)


def test_non_numeric_weight_names_value(paper_dir: Path) -> None:
    _write_rubric(paper_dir, lambda r: r["sub_tasks"][1].update(weight="heavy"))
    with pytest.raises(RubricError, match=r"id='b'.*'weight' must be a number, got 'heavy'"):
        load_task(paper_dir)


def test_leaf_without_category_names_node(paper_dir: Path) -> None:
    _write_rubric(paper_dir, lambda r: r["sub_tasks"][0]["sub_tasks"][0].update(task_category=None))
    with pytest.raises(RubricError, match=r"id='a1'.*leaf has task_category None"):
        load_task(paper_dir)


def test_unknown_category_names_node(paper_dir: Path) -> None:
    _write_rubric(paper_dir, lambda r: r["sub_tasks"][1].update(task_category="Vibes"))
    with pytest.raises(RubricError, match=r"id='b'.*'Vibes'.*Code Development"):
        load_task(paper_dir)


def test_duplicate_ids_are_kept_as_written_and_keyed_by_place(paper_dir: Path) -> None:
    """Published PaperBench rubrics reuse ids (across branches, and among siblings);
    PaperBench accepts them, so do we: each node keeps its id and gets a unique key."""

    def reuse(r: dict) -> None:
        r["sub_tasks"][1].update(id="a1")  # a leaf elsewhere with a1's id
        first = r["sub_tasks"][0]["sub_tasks"]
        first.append({**first[0], "requirements": "a sibling with the same id"})

    _write_rubric(paper_dir, reuse)
    rubric = load_task(paper_dir).rubric
    assert rubric is not None
    leaves = rubric.leaves()
    ids = [leaf.id for leaf in leaves]
    keys = [leaf.key for leaf in leaves]
    assert ids.count("a1") == 3 and len(set(keys)) == len(keys)
    assert rubric.to_dict()["sub_tasks"][1]["id"] == "a1"  # written back as published
    scores = {leaf.key: 1.0 for leaf in leaves if leaf.requirements == "a sibling with the same id"}
    assert 0 < rubric.score(scores) < 1  # only that one leaf counts, not every 'a1'


def test_children_weights_summing_to_zero_are_refused(paper_dir: Path) -> None:
    def zero(r: dict) -> None:
        for c in r["sub_tasks"][0]["sub_tasks"]:
            c["weight"] = 0

    _write_rubric(paper_dir, zero)
    with pytest.raises(RubricError, match=r"id='a'.*sum to 0"):
        load_task(paper_dir)


def test_bad_paper_config_names_field(paper_dir: Path) -> None:
    (paper_dir / "config.yaml").write_text("title: no id\n")
    with pytest.raises(TaskError, match=r"config\.yaml.*'id'"):
        load_task(paper_dir)


def test_not_a_task_directory(tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="not a task directory"):
        load_task(tmp_path)
