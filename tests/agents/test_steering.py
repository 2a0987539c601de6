"""How a small model (JSON-action protocol) is held to a specialist's contract: an improve
task's implementation runs train.py until submission.csv is valid, in a real sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiscientist.agents.specialists import Specialist
from aiscientist.agents.train_steering import BASELINE_SUMMARY, with_code_repair
from aiscientist.agents.workspace_tools import ToolContext, write_tools
from aiscientist.config import load_config
from aiscientist.errors import ToolError
from aiscientist.messages import Delegation
from aiscientist.models.scripted import ScriptedModel
from aiscientist.runtime.driver import create_run
from aiscientist.workspace import WorkspaceView

GOOD = (
    "import os, shutil\n"
    "shutil.copy(os.environ['TASK_DIR'] + '/public/sample_submission.csv', 'submission.csv')\n"
)


def act(tool: str, **arguments: object) -> str:
    return json.dumps({"tool": tool, "arguments": arguments})


def offered(schema: dict[str, object]) -> list[str]:
    return [v["properties"]["tool"]["const"] for v in schema["anyOf"]]  # type: ignore[index]


def test_implementation_is_held_to_a_train_py_that_runs(tmp_path: Path) -> None:
    cfg = load_config(
        overrides=["sandbox.kind=local", "models.tool_protocol=json", "models.steering=on"]
    )
    run_dir = create_run("tabular-cancer", cfg, root=tmp_path)
    # the program an earlier session left: the framework runs it at once (every argument
    # fixed: no model call), and it fails
    (run_dir / "submission" / "train.py").write_text("raise SystemExit('boom')\n")
    model = ScriptedModel(
        [
            act("read_file", path="task/description.md"),  # no progress: next action forced
            act("write_file", path="submission/train.py", content=GOOD),
            # run at once again: a valid submission.csv
            act("finish", summary="train.py runs"),
        ]
    )
    result = Specialist("implementation", run_dir, cfg, model).handle(
        Delegation(id="del-steer", role="implementation", instruction="write train.py")
    )
    assert result.status == "ok" and result.summary.text == "train.py runs"
    names = [offered(s) for s in model.schemas]  # type: ignore[arg-type]
    # finish is withheld until the program there writes a valid csv
    assert len(names) == 3, "the training runs are made without the model"
    assert all("finish" not in n for n in names[:2]), "finish withheld until the csv is valid"
    assert names[1] == ["write_file"], "after a failed run and a stalled step: rewrite train.py"
    forced = model.schemas[1]["anyOf"][0]["properties"]["arguments"]["properties"]  # type: ignore[index]
    assert forced["path"] == {"const": "submission/train.py"}
    assert "finish" in names[2]
    assert (run_dir / "submission" / "submission.csv").read_text().startswith("id,target")
    transcript = run_dir / "journal/transcripts/implementation/del-steer.jsonl"
    messages = [json.loads(x) for x in transcript.read_text().splitlines()]
    outs = [m["content"] for m in messages if m["role"] == "tool"]
    assert any("boom" in o and "[Before you can finish: fix submission/train.py" in o for o in outs)
    runs = [
        c
        for m in messages
        if m["role"] == "assistant"
        for c in m.get("tool_calls") or []
        if c["name"] == "shell"
    ]
    assert len(runs) == 2 and all(c["id"].startswith("steered_") for c in runs)


def test_steered_python_writes_get_their_missing_imports(tmp_path: Path) -> None:
    from aiscientist.agents.steering import steer_tools
    from aiscientist.agents.workspace_tools import ToolContext, write_tools
    from aiscientist.config import SandboxConfig
    from aiscientist.workspace.view import WorkspaceView

    cfg = load_config(overrides=["sandbox.kind=local"])
    run_dir = create_run("tabular-cancer", cfg, root=tmp_path)
    view = WorkspaceView(run_dir, "implementation")
    plain = write_tools(ToolContext(view=view, sandbox=SandboxConfig()))
    steered = steer_tools("implementation", "improve", plain, view)
    code = "df = pd.read_csv(os.environ['TASK_DIR'] + '/public/train.csv')\n"
    write = {t.name: t for t in steered}["write_file"]
    out = write.fn(write.args(path="submission/train.py", content=code))
    assert "added the missing" in out
    text = (run_dir / "submission" / "train.py").read_text()
    assert "import pandas as pd" in text and "import os" in text
    unsteered = {t.name: t for t in plain}["write_file"]
    unsteered.fn(unsteered.args(path="submission/other.py", content=code))
    assert (run_dir / "submission" / "other.py").read_text() == code


def test_steering_is_switched_by_configuration_not_by_protocol() -> None:
    auto = load_config(overrides=["models.default=openai/gpt-4o", "models.tool_protocol=json"])
    assert not auto.models.steered("implementation")
    local = load_config(overrides=["models.default=local"])
    assert local.models.steered("orchestrator") and local.models.protocol_for("peer") == "json"
    off = load_config(overrides=["models.default=local", "models.steering=off"])
    assert not off.models.steered("orchestrator")
    on = load_config(overrides=["models.default=openai/gpt-4o", "models.steering=on"])
    assert on.models.steered("helper") and on.models.protocol_for("helper") == "native"


def test_a_narrowed_choice_reaches_a_native_model_as_a_forced_call() -> None:
    from aiscientist.models.base import ToolChoice, ToolSpec
    from aiscientist.models.litellm_model import narrow_tools

    specs = [
        ToolSpec("write_file", "w", {"type": "object", "properties": {"path": {"type": "string"}}}),
        ToolSpec("finish", "f", {"type": "object", "properties": {}}),
        ToolSpec("read_file", "r", {"type": "object", "properties": {}}),
    ]
    forced, choice = narrow_tools(specs, ToolChoice(("write_file",), {"path": "a.py"}))
    assert choice == "write_file" and [t.name for t in forced] == ["write_file"]
    assert forced[0].parameters["properties"]["path"] == {"const": "a.py"}
    allowed, choice = narrow_tools(specs, ToolChoice(("write_file", "read_file")))
    assert choice == "required" and [t.name for t in allowed] == ["write_file", "read_file"]
    assert narrow_tools(specs, "auto") == (specs, "auto")


def test_a_dead_end_is_left_through_the_frameworks_baseline(tmp_path: Path) -> None:
    """A train.py that runs but writes nothing (what the 1.5B model once wrote, then ran 50
    times): after three such runs the framework's baseline replaces it and the session ends
    with a valid submission."""
    cfg = load_config(
        overrides=["sandbox.kind=local", "models.tool_protocol=json", "models.steering=on"]
    )
    run_dir = create_run("friedman-regression", cfg, root=tmp_path)
    empty = "import pandas as pd\nimport numpy as np\n"
    (run_dir / "submission" / "train.py").write_text(empty)  # run at once: ok, writes nothing
    model = ScriptedModel(
        [
            act("shell", command="python train.py"),  # the model reruns it
            act("shell", command="python train.py"),  # third: the baseline replaces it
            # the baseline runs at once
            act("finish", summary="valid submission"),
        ]
    )
    result = Specialist("implementation", run_dir, cfg, model).handle(
        Delegation(id="del-rescue", role="implementation", instruction="write train.py")
    )
    assert result.status == "ok", result.summary.text
    code = (run_dir / "submission" / "train.py").read_text()
    assert "HistGradientBoostingRegressor" in code and 'KIND = "regression"' in code
    from aiscientist.grading.competition import grade_competition
    from aiscientist.tasks import load_task

    grade = grade_competition(
        load_task("friedman-regression"), run_dir / "submission" / "submission.csv"
    )
    assert grade.valid and grade.score is not None
    log = (run_dir / "agent" / "impl_log.md").read_text()
    assert "replaced by the framework's baseline" in log


def test_a_session_without_train_py_starts_from_the_baseline(tmp_path: Path) -> None:
    """What the 1.5B model did first in 12-minute friedman-regression runs: it ran train.py
    before writing one, then spent five minutes copying the example program (with a typo);
    or it wrote an empty train.py, twice. Now a session with no train.py starts with the
    framework's baseline there (preloaded), and an empty program is refused."""
    cfg = load_config(
        overrides=["sandbox.kind=local", "models.tool_protocol=json", "models.steering=on"]
    )
    run_dir = create_run("land-cover", cfg, root=tmp_path)
    model = ScriptedModel([act("write_file", path="submission/train.py", content="\n")])
    result = Specialist("implementation", run_dir, cfg, model).handle(
        Delegation(id="del-seed", role="implementation", instruction="write the code")
    )
    # the baseline ran valid: the session ends there, without a model call (the refine loop
    # changes the program one function at a time)
    assert result.status == "ok" and result.summary.text.endswith(BASELINE_SUMMARY)
    assert model.schemas == []
    assert 'KIND = "probability"' in (run_dir / "submission" / "train.py").read_text()
    from aiscientist.grading.competition import grade_competition
    from aiscientist.tasks import load_task

    grade = grade_competition(load_task("land-cover"), run_dir / "submission" / "submission.csv")
    assert grade.valid and grade.score is not None
    assert (
        "baseline for this task was written there"
        in (run_dir / "agent" / "impl_log.md").read_text()
    )
    # an empty program (what it wrote twice) is refused
    view = WorkspaceView(run_dir, "implementation")
    plain = next(t for t in write_tools(ToolContext(view=view, sandbox=cfg.sandbox)))
    write = with_code_repair(plain)
    for empty in ("\n", "# Improved submission\n"):
        with pytest.raises(ToolError, match="would hold no code"):
            write.fn(write.args(path="submission/train.py", content=empty))
    assert 'KIND = "probability"' in (run_dir / "submission" / "train.py").read_text()


def test_the_implementation_prompt_shows_a_program_of_the_tasks_shape(tmp_path: Path) -> None:
    from aiscientist.agents.specialists import improve_contract

    cfg = load_config(overrides=["sandbox.kind=local"])
    regression = create_run("friedman-regression", cfg, root=tmp_path)
    text = improve_contract(regression, "improve")
    assert "HistGradientBoostingRegressor" in text and "root-mean-squared-error" in text
    assert 'KIND = "regression"' in text and "RandomForestClassifier" not in text
    auc = create_run("interaction-classification", cfg, root=tmp_path)
    assert 'KIND = "probability"' in improve_contract(auc, "improve")
    assert improve_contract(regression, "replicate") == ""


def test_a_directory_or_escaping_path_in_a_delegations_inputs_is_not_preloaded(
    tmp_path: Path,
) -> None:
    """A model once handed implementation `submission` (a directory) as an input; reading it
    on the session's behalf crashed the session before its first step."""
    from aiscientist.agents.specialists import preload_calls
    from aiscientist.workspace.view import WorkspaceView

    cfg = load_config(overrides=["sandbox.kind=local"])
    run_dir = create_run("tabular-cancer", cfg, root=tmp_path)
    view = WorkspaceView(run_dir, "implementation")
    calls = preload_calls(
        "implementation", view, "improve", ["submission", "../outside.txt", "task/description.md"]
    )
    paths = [c.arguments["path"] for c in calls]
    assert "submission" not in paths and "../outside.txt" not in paths
    assert "task/description.md" in paths


def test_the_forced_training_run_fixes_its_timeout_too(tmp_path: Path) -> None:
    """The demo's 1.5B model, forced to call shell with the command fixed, filled
    ``timeout_s`` with 0 (a refused argument) 14 times until the session's step limit."""
    from aiscientist.agents.train_steering import TRAIN_TIMEOUT_S, until_submission_valid
    from aiscientist.agents.workspace_tools import ShellArgs, ToolContext, shell_tool
    from aiscientist.workspace import WorkspaceView

    cfg = load_config(overrides=["sandbox.kind=local"])
    run_dir = create_run("tabular-cancer", cfg, root=tmp_path)
    view = WorkspaceView(run_dir, "implementation")
    view.write_text("submission/train.py", "print('no submission')\n")
    shell = shell_tool(ToolContext(view=view, sandbox=cfg.sandbox, home="submission"))
    tool = until_submission_valid(shell, view)
    assert tool.todo is not None
    (todo,) = tool.todo()
    assert todo.tool == "shell"
    assert todo.fixed == {"command": "python train.py", "timeout_s": TRAIN_TIMEOUT_S}
    ShellArgs(**todo.fixed)  # the fixed arguments alone are a valid call


def test_the_forced_submit_asks_for_the_configured_gpus(tmp_path: Path) -> None:
    """A 1.5B model asked for a GPU on a CPU-only cluster, was refused at submit and asked
    again, one refused call per refine loop: the forced submit holds the configured demand."""
    from aiscientist.agents.steering import experiment_now
    from aiscientist.agents.tools import Todo, Tool
    from aiscientist.experiments.tools import SubmitArgs
    from aiscientist.workspace import WorkspaceView

    cfg = load_config(overrides=["sandbox.kind=local"])
    run_dir = create_run("tabular-cancer", cfg, root=tmp_path)
    WorkspaceView(run_dir, "implementation").write_text("submission/train.py", "print('hi')\n")
    view = WorkspaceView(run_dir, "experimentation")
    advice = Todo("submit the experiment", "submit_experiment", {})
    submit = Tool("submit_experiment", "", SubmitArgs, lambda a: "", todo=lambda: [advice])
    (todo,) = experiment_now(submit, view, num_gpus=0.0, instruction="try SVM").todo()  # type: ignore[misc]
    assert todo.fixed["num_gpus"] == 0.0 and todo.fixed["command"] == "python train.py"
    assert todo.fixed["description"] == "try SVM" and todo.fixed["parent"] == ""
    SubmitArgs(**todo.fixed)  # the fixed arguments alone are a valid call


def test_a_valid_submission_comes_first_and_a_failed_run_keeps_it(tmp_path: Path) -> None:
    """At 3444317 on friedman-regression the 1.5B model overwrote the framework's working
    program with one that did not parse, spent the 12 minutes rewriting it and the run ended
    on the fallback (the mean, test RMSE 5.0): the framework's program was never run. Now it
    runs as soon as it is written, and a later run that fails or writes nothing leaves the
    last valid submission.csv in place (and counts towards the rescue)."""
    from aiscientist.agents.baseline import baseline_program
    from aiscientist.agents.train_steering import until_submission_valid
    from aiscientist.agents.workspace_tools import ShellArgs, ToolContext, shell_tool
    from aiscientist.grading.validity import check_submission
    from aiscientist.workspace import WorkspaceView

    cfg = load_config(overrides=["sandbox.kind=local"])
    run_dir = create_run("friedman-regression", cfg, root=tmp_path)
    view = WorkspaceView(run_dir, "implementation")
    shell = shell_tool(ToolContext(view=view, sandbox=cfg.sandbox, home="submission"))
    tool = until_submission_valid(shell, view, baseline_program("rmse"))
    csv = run_dir / "submission" / "submission.csv"
    sample = run_dir / "task" / "public" / "sample_submission.csv"
    assert check_submission(csv, sample) == []  # the framework's program ran at once
    assert "baseline for this task was written there and run: a valid" in view.read_text(
        "agent/impl_log.md"
    )
    assert tool.todo is not None
    (done,) = tool.todo()  # nothing owed: the session reports the baseline and ends
    assert done.tool == "finish" and not done.blocks_finish
    first = csv.read_bytes()

    for broken in ("raise SystemExit('boom')\n", "print('writes nothing')\n"):
        view.write_text("submission/train.py", broken)
        out = tool.fn(ShellArgs(command="python train.py"))
        assert csv.read_bytes() == first, out  # the last valid output, kept
        (todo,) = tool.todo()
        assert todo.tool == "write_file"  # the last run failed: fix train.py
    assert not (run_dir / "submission" / "submission.csv.kept").exists()


@pytest.mark.parametrize("with_functions", [True, False])
def test_a_refine_session_fixes_one_function_then_falls_back_to_the_change_shown(
    tmp_path: Path, with_functions: bool
) -> None:
    """A change that fails is fixed with replace_function (a 1.5B model rewriting the whole
    130-line program takes minutes and mangles it). After three bad runs the program the
    session started from (the champion's) comes back, with the standard change the model was
    shown applied as written (at 2da46b1 on friedman the model failed three times to write
    its own pairwise products); with no change left to apply, the session says it changed
    nothing (the model had reported the change it failed to make, and it was tested as such)."""
    from aiscientist.agents.baseline import baseline_program
    from aiscientist.agents.ideas import IDEAS, describe_change
    from aiscientist.agents.train_steering import NO_CHANGE, RESCUE_AFTER, until_submission_valid
    from aiscientist.agents.workspace_tools import ShellArgs, shell_tool

    cfg = load_config(overrides=["sandbox.kind=local"])
    run_dir = create_run("friedman-regression", cfg, root=tmp_path)
    view = WorkspaceView(run_dir, "implementation")
    tuned = "(max_iter=150, random_state=SEED)"
    champion = baseline_program("rmse").replace("(random_state=SEED)", tuned)
    if not with_functions:  # a program with no function a standard change replaces
        champion = GOOD
    assert champion != baseline_program("rmse")
    view.write_text("submission/train.py", champion)
    shell = shell_tool(ToolContext(view=view, sandbox=cfg.sandbox, home="submission"))
    tool = until_submission_valid(shell, view, baseline_program("rmse"), refine=True)
    assert tool.todo is not None
    for n in range(RESCUE_AFTER):
        view.write_text("submission/train.py", champion + "\nraise SystemExit('broken change')\n")
        tool.fn(ShellArgs(command="python train.py"))
        if n < RESCUE_AFTER - 1:
            (todo,) = tool.todo()
            assert todo.tool == "replace_function" and todo.fixed == {"path": "submission/train.py"}
    program = view.read_text("submission/train.py")
    (run,) = tool.todo()  # the program it fell back to runs at once
    assert run.tool == "shell"
    tool.fn(ShellArgs(**run.fixed))
    (done,) = tool.todo()
    assert done.tool == "finish"
    if with_functions:
        first = next(i for i in IDEAS if i.function == "make_model")
        assert describe_change(champion, program) == f"make_model: {first.title}"
        assert done.fixed["summary"] == f"make_model: {first.title}"
        assert "with the change shown" in view.read_text("agent/impl_log.md")
    else:
        assert program == champion
        assert done.fixed["summary"].startswith(NO_CHANGE)
        assert "replaced by the program this session started from" in view.read_text(
            "agent/impl_log.md"
        )


def test_a_refine_session_that_changed_nothing_says_so(tmp_path: Path) -> None:
    """At 853cda8 on friedman the 1.5B model's changes were all refused (the function as the
    file had it), and it finished with "I replaced make_model with an improved version": the
    champion was retested twice under that name. A refine session whose program is the one it
    started from reports no change."""
    from aiscientist.agents.train_steering import NO_CHANGE, until_submission_valid
    from aiscientist.agents.workspace_tools import ShellArgs, shell_tool

    cfg = load_config(overrides=["sandbox.kind=local"])
    run_dir = create_run("tabular-cancer", cfg, root=tmp_path)
    view = WorkspaceView(run_dir, "implementation")
    view.write_text("submission/train.py", GOOD)
    shell = shell_tool(ToolContext(view=view, sandbox=cfg.sandbox, home="submission"))
    tool = until_submission_valid(shell, view, GOOD, refine=True)
    assert tool.todo is not None
    (run,) = tool.todo()  # no submission.csv yet (a refine session removes the champion's)
    tool.fn(ShellArgs(**run.fixed))
    (done,) = tool.todo()
    assert done.tool == "finish"
    assert done.fixed["summary"] == f"{NO_CHANGE}: submission/train.py is the program this " + (
        "session started from"
    )


def test_refused_fixes_count_towards_the_way_back(tmp_path: Path) -> None:
    """At afed74e on land-cover the 1.5B model, fixing a change whose run failed, sent one
    unparsable function after another (refused, the program unchanged, no run) for the rest
    of the budget. Refused changes count as bad attempts: after three, the program runs again
    and the session falls back to the champion's program with the change it was shown."""
    from aiscientist.agents.baseline import baseline_program
    from aiscientist.agents.steering import steer_tools
    from aiscientist.agents.train_steering import RESCUE_AFTER
    from aiscientist.agents.workspace_tools import ShellArgs, function_tool, shell_tool
    from aiscientist.errors import ToolError

    cfg = load_config(overrides=["sandbox.kind=local"])
    run_dir = create_run("land-cover", cfg, root=tmp_path)
    view = WorkspaceView(run_dir, "implementation")
    champion = baseline_program("multi-class-log-loss")
    view.write_text("submission/train.py", champion)
    ctx = ToolContext(view=view, sandbox=cfg.sandbox, home="submission")
    tools = steer_tools(
        "implementation",
        "improve",
        [function_tool(ctx), shell_tool(ctx)],
        view,
        rescue=champion,
        mode="refine",
    )
    change, shell = tools
    broken = "def make_model(classify):\n    raise SystemExit('broken change')\n"
    change.fn(change.args(path="submission/train.py", name="make_model", code=broken))
    shell.fn(ShellArgs(command="python train.py"))  # fails: one bad run
    for _ in range(RESCUE_AFTER - 1):
        with pytest.raises(ToolError):
            change.fn(change.args(path="submission/train.py", name="make_model", code="def ("))
    assert shell.todo is not None
    (rerun,) = shell.todo()
    assert rerun.tool == "shell" and rerun.patience == 0
    shell.fn(ShellArgs(**rerun.fixed))
    program = view.read_text("submission/train.py")
    assert program != champion and "broken change" not in program
    assert "with the change shown" in view.read_text("agent/impl_log.md")
