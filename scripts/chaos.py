"""Fault campaign: scripted runs killed at a random point, resumed, and checked for damage.

Each trial starts a run of the bundled ``tabular-cancer`` task with a scripted team
(hierarchical: ``tests/runtime/data/fast-team.yaml``; decentralized: three peers,
``configs/scripts/decentralized-improve.yaml``) as an ``aiscientist run`` subprocess on a
private two-node Ray cluster (``ray.cluster_utils.Cluster``: a head and a worker node). Once
the run has made a random number of model calls (plus a random fraction of a second), one fault
is injected:

- ``driver-sigkill``: SIGKILL the driver process;
- ``kill-<kind>``: ``ray.kill`` one actor of that kind (orchestrator, a specialist, a peer, the
  experiment pool ``executor``, the hypothesis ``tree``); Ray may restart it;
- ``remove-node``: remove the worker node (its actors and experiments die with it);
- ``ray-stop``: every Ray process of the cluster is killed (what ``ray stop --force`` does,
  limited to this campaign's cluster so no other Ray on the machine is touched), then the
  driver; the cluster is started again.

If the run did not finish by itself, ``aiscientist resume`` continues it. Per trial:
finished or not; torn files (every JSON/JSONL of the run parses, and every append-only log --
``journal/events.jsonl``, ``tree/events.jsonl``, usage, state and transcript logs -- is its
pre-fault content plus whole new lines); experiments redone (one with a ``result.json`` at the
fault that got another attempt or a new result); delegations repeated (a delegation whose
result was ``ok`` at the fault issued again, or a result journaled twice; decentralized: a
hypothesis finished twice or an experiment recorded as evidence twice).

    python scripts/chaos.py --trials 24          # writes bench-results/chaos.json
    python scripts/chaos.py --seeds 9,12 --out /tmp/chaos.json   # chosen trials

Seed ``s`` runs mode ``s % 2`` (0: hierarchical) and that mode's fault number ``s // 2``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = {
    "hierarchical": REPO / "tests" / "runtime" / "data" / "fast-team.yaml",
    "decentralized": REPO / "configs" / "scripts" / "decentralized-improve.yaml",
}
CALLS = {"hierarchical": 14, "decentralized": 16}
"""About how many model calls a whole run of each script makes: a fault lands after 1 to
``CALLS - 5`` of them (later, the run is grading and its actors are gone)."""
FAULTS = {
    "hierarchical": [
        "driver-sigkill",
        "kill-orchestrator",
        "kill-specialist",
        "kill-executor",
        "kill-tree",
        "remove-node",
        "ray-stop",
    ],
    "decentralized": [
        "driver-sigkill",
        "kill-peer",
        "kill-executor",
        "kill-tree",
        "remove-node",
        "ray-stop",
    ],
}
NAMESPACE = "aiscientist"
APPEND_ONLY = ("journal/", "tree/events.jsonl", "agent/state/")
"""Append-only logs (every ``*.jsonl`` under these): a fault may only add whole lines."""
SKIP = ("task/", "submission/", "agent/experiments/")
"""Not the system's own records: task files, the submission repo, experiment work dirs."""
RUN_TIMEOUT_S = 300.0


@dataclass
class Trial:
    seed: int
    mode: str
    fault: str
    kill_after_calls: int
    injected: bool = False
    target: str = ""
    hung: bool = False
    """The faulted run neither finished nor stopped within ``RUN_TIMEOUT_S``."""
    resumed: bool = False
    finished: bool = False
    status: str = ""
    torn: list[str] = field(default_factory=list)
    experiments_redone: list[str] = field(default_factory=list)
    delegations_repeated: list[str] = field(default_factory=list)
    seconds: float = 0.0
    note: str = ""


class Campaign:
    """One private Ray cluster (head + a worker node) reused across trials."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.ray_tmp = tempfile.mkdtemp(prefix="ch", dir="/tmp")  # short: socket paths
        self.cluster: Any = None
        self.worker: Any = None

    # ---- the cluster ----

    def up(self) -> None:
        import ray
        from ray.cluster_utils import Cluster

        if self.cluster is not None:
            return
        os.environ["RAY_TMPDIR"] = self.ray_tmp
        self.cluster = Cluster(
            initialize_head=True,
            head_node_args={"num_cpus": 2, "include_dashboard": False},
        )
        self.worker = self.cluster.add_node(num_cpus=2)
        self.cluster.wait_for_nodes()
        ray.init(address=self.cluster.address, namespace=NAMESPACE, log_to_driver=False)

    def down(self) -> None:
        import ray

        if self.cluster is None:
            return
        ray.shutdown()
        try:
            self.cluster.shutdown()
        except Exception:  # noqa: BLE001 - a cluster already torn down by a fault
            pass
        self.cluster = self.worker = None
        self._kill_strays()

    def _kill_strays(self) -> None:
        """SIGKILL every process of this campaign's Ray (found by its temp dir)."""
        for pid in _pids_using(self.ray_tmp):
            if pid != os.getpid():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def close(self) -> None:
        self.down()
        shutil.rmtree(self.ray_tmp, ignore_errors=True)

    # ---- one trial ----

    def env(self) -> dict[str, str]:
        env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
        env["RAY_ADDRESS"] = self.cluster.address
        env["RAY_TMPDIR"] = self.ray_tmp
        env.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        return env

    def start(self, args: list[str], log: Path) -> subprocess.Popen[bytes]:
        fh = open(log, "ab")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(
            [sys.executable, "-m", "aiscientist.cli", *args],
            cwd=REPO,
            env=self.env(),
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def trial(self, seed: int, mode: str, fault: str) -> Trial:
        rng = random.Random(seed)
        t = Trial(seed, mode, fault, rng.randint(1, CALLS[mode] - 5))
        jitter = rng.uniform(0.0, 2.0)
        started = time.monotonic()
        self.up()
        root = self.work / f"trial-{seed:03d}"
        log = root / "driver.log"
        root.mkdir(parents=True, exist_ok=True)
        sets = ["sandbox.kind=local", f"mode={mode}", "budget.wall_minutes=30"]
        if mode == "decentralized":
            sets += ["peers=3", "search.lease_s=5"]
        args = ["run", "tabular-cancer", "--workspace", str(root / "runs")]
        args += ["--model", f"scripted:{SCRIPTS[mode]}"]
        for s in sets:
            args += ["--set", s]
        proc = self.start(args, log)
        run_dir: Path | None = None
        try:
            deadline = time.monotonic() + RUN_TIMEOUT_S
            while proc.poll() is None and time.monotonic() < deadline:
                run_dir = _run_dir(root / "runs")
                if run_dir is not None and _calls(run_dir) >= t.kill_after_calls:
                    break
                time.sleep(0.05)
            time.sleep(jitter)
            if proc.poll() is None and run_dir is not None:
                t.target = self.inject(fault, run_dir, proc, rng)
                t.injected = not t.target.startswith("no live")
            snapshot = _snapshot(run_dir) if run_dir is not None else None
            if not _wait(proc, RUN_TIMEOUT_S):
                t.hung = True  # the driver never ended: stopped here, then resumed
            run_dir = _run_dir(root / "runs")
            if run_dir is None:
                t.note = "no run directory"
                return t
            self.up()  # after ray-stop: a new cluster for the resume
            if _status(run_dir) != "finished":
                t.resumed = True
                resume = self.start(["resume", str(run_dir)], log)
                if not _wait(resume, RUN_TIMEOUT_S):
                    t.note = "resume timed out"
            t.status = _status(run_dir)
            t.finished = t.status == "finished"
            if snapshot is not None:
                t.torn = _torn(run_dir, snapshot)
                t.experiments_redone = _redone(run_dir, snapshot)
                t.delegations_repeated = _repeated(run_dir, snapshot, mode)
            if not t.finished and not t.note:
                t.note = _note(run_dir) or log.read_text(errors="replace")[-300:]
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            if run_dir is not None:
                self._release(run_dir)
            t.seconds = round(time.monotonic() - started, 1)
        return t

    def inject(
        self, fault: str, run_dir: Path, proc: subprocess.Popen[bytes], rng: random.Random
    ) -> str:
        """Inject ``fault``; returns what it hit."""
        import ray

        if fault == "driver-sigkill":
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return f"driver pid {proc.pid}"
        if fault == "ray-stop":
            self.cluster = self.worker = None  # every process of it is killed below
            ray.shutdown()
            self._kill_strays()
            _wait(proc, 30.0)  # a driver whose cluster vanished ends, or is stopped here
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            return "every Ray process of the cluster"
        if fault == "remove-node":
            node = self.worker
            self.cluster.remove_node(node, allow_graceful=False)
            self.worker = self.cluster.add_node(num_cpus=2)  # capacity comes back
            return f"worker node {node.node_id[:8]}"
        kind = fault.removeprefix("kill-")
        run_id = run_dir.name
        names = _actors(run_id)
        roles = {
            "specialist": [
                n for n in names if n.split("/")[-1] not in ("orchestrator", "executor", "tree")
            ],
            "peer": [n for n in names if n.split("/")[-1].startswith("peer-")],
        }.get(kind, [n for n in names if n.split("/")[-1] == kind])
        if not roles:
            return f"no live {kind} actor"
        victim = rng.choice(sorted(roles))
        try:
            ray.kill(ray.get_actor(victim, namespace=NAMESPACE), no_restart=False)
        except (ValueError, ray.exceptions.RayError) as exc:
            return f"{victim}: {type(exc).__name__}"
        return victim

    def _release(self, run_dir: Path) -> None:
        """Kill what a run left on the cluster (its detached experiment pool)."""
        import ray

        if self.cluster is None or not ray.is_initialized():
            return
        for name in _actors(run_dir.name):
            try:
                ray.kill(ray.get_actor(name, namespace=NAMESPACE), no_restart=True)
            except (ValueError, ray.exceptions.RayError):
                pass


# ---- reading a run ----


def _pids_using(marker: str) -> list[int]:
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if marker.encode() in (p / "cmdline").read_bytes():
                    pids.append(int(p.name))
            except OSError:
                continue
    return pids


def _actors(run_id: str) -> list[str]:
    from ray.util import list_named_actors

    prefix = f"aiscientist/{run_id}/"
    found = list_named_actors(all_namespaces=True)
    return [a["name"] for a in found if str(a["name"]).startswith(prefix)]


def _wait(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return False
    return True


def _run_dir(root: Path) -> Path | None:
    dirs = [d for d in root.iterdir() if (d / "run.json").exists()] if root.exists() else []
    return dirs[0] if dirs else None


def _calls(run_dir: Path) -> int:
    d = run_dir / "journal" / "usage"
    return sum(p.read_bytes().count(b"\n") for p in d.glob("*.jsonl")) if d.is_dir() else 0


def _status(run_dir: Path) -> str:
    try:
        return str(json.loads((run_dir / "run.json").read_text())["status"])
    except (OSError, ValueError, KeyError):
        return "unreadable"


def _note(run_dir: Path) -> str:
    try:
        return str(json.loads((run_dir / "run.json").read_text()).get("note") or "")[:300]
    except (OSError, ValueError):
        return ""


def _rel(run_dir: Path, p: Path) -> str:
    return p.relative_to(run_dir).as_posix()


def _records(run_dir: Path) -> list[Path]:
    out = []
    for p in run_dir.rglob("*"):
        rel = _rel(run_dir, p)
        if p.is_file() and p.suffix in (".json", ".jsonl") and not rel.startswith(SKIP):
            out.append(p)
    # an experiment's own records are the system's: spec, result, attempts
    for p in (run_dir / "agent" / "experiments").glob("*/*.json"):
        out.append(p)
    out += list((run_dir / "agent" / "experiments").glob("*/attempts/*.json"))
    return out


@dataclass
class Snapshot:
    logs: dict[str, bytes]
    """Append-only logs at the fault."""
    results: dict[str, tuple[int, int]]
    """Experiments with a result at the fault: (attempts, result.json mtime)."""
    ok_delegations: set[tuple[str, str, str]]
    delegations: int


def _snapshot(run_dir: Path) -> Snapshot:
    logs = {}
    for p in _records(run_dir):
        rel = _rel(run_dir, p)
        if p.suffix == ".jsonl" and rel.startswith(APPEND_ONLY):
            try:
                logs[rel] = p.read_bytes()
            except OSError:
                continue
    results = {}
    for e in (run_dir / "agent" / "experiments").glob("*"):
        if (e / "result.json").exists():
            results[e.name] = (
                len(list((e / "attempts").glob("*.json"))),
                (e / "result.json").stat().st_mtime_ns,
            )
    dels, res = _journal(run_dir)
    ok = {dels[i] for i, status in res if status == "ok" and i in dels}
    return Snapshot(logs, results, ok, len(dels))


def _journal(run_dir: Path) -> tuple[dict[str, tuple[str, str, str]], list[tuple[str, str]]]:
    """Delegations by id -> (role, instruction, mode), and (delegation id, status) of results."""
    dels: dict[str, tuple[str, str, str]] = {}
    res: list[tuple[str, str]] = []
    path = run_dir / "journal" / "events.jsonl"
    for line in path.read_bytes().splitlines() if path.exists() else []:
        try:
            e = json.loads(line)
        except ValueError:
            continue
        if e.get("type") == "delegation":
            d = e["delegation"]
            dels[d["id"]] = (d["role"], d["instruction"], str(d.get("mode")))
        elif e.get("type") == "result":
            r = e["result"]
            res.append((r["delegation_id"], r["status"]))
    return dels, res


def _torn(run_dir: Path, snap: Snapshot) -> list[str]:
    torn = []
    for p in _records(run_dir):
        rel = _rel(run_dir, p)
        data = p.read_bytes()
        try:
            if p.suffix == ".json":
                json.loads(data)
            else:
                for line in data.splitlines():
                    if line.strip():
                        json.loads(line)
                if data and not data.endswith(b"\n"):
                    raise ValueError("no newline at the end")
        except ValueError as exc:
            torn.append(f"{rel}: {str(exc)[:80]}")
            continue
        before = snap.logs.get(rel)
        if before is not None and not data.startswith(before.rsplit(b"\n", 1)[0]):
            torn.append(f"{rel}: not an extension of its content at the fault")
    for rel in snap.logs:
        if not (run_dir / rel).exists():
            torn.append(f"{rel}: gone")
    return torn


def _redone(run_dir: Path, snap: Snapshot) -> list[str]:
    out = []
    for name, (attempts, mtime) in snap.results.items():
        e = run_dir / "agent" / "experiments" / name
        now = (len(list((e / "attempts").glob("*.json"))), (e / "result.json").stat().st_mtime_ns)
        if now != (attempts, mtime):
            out.append(f"{name}: attempts {attempts} -> {now[0]}")
    return out


def _repeated(run_dir: Path, snap: Snapshot, mode: str) -> list[str]:
    out = []
    dels, res = _journal(run_dir)
    for i, n in Counter(i for i, _ in res).items():
        if n > 1:
            out.append(f"{i}: {n} results")
    for i, key in list(dels.items())[snap.delegations :]:
        if key in snap.ok_delegations:
            out.append(f"{i}: {key[0]} {key[1][:40]!r} again")
    if mode == "decentralized":
        events = []
        path = run_dir / "tree" / "events.jsonl"
        for line in path.read_bytes().splitlines() if path.exists() else []:
            try:
                events.append(json.loads(line))
            except ValueError:
                continue
        finishes = Counter(e.get("id") for e in events if e.get("type") == "finish")
        evidence = Counter(e["evidence"]["exp_id"] for e in events if e.get("type") == "evidence")
        out += [f"hypothesis {h} finished {n} times" for h, n in finishes.items() if n > 1]
        out += [f"experiment {x} evidence {n} times" for x, n in evidence.items() if n > 1]
    return out


# ---- the campaign ----


def plan(seeds: list[int]) -> list[tuple[int, str, str]]:
    """(seed, mode, fault): modes alternate and each mode cycles through its faults."""
    out = []
    for seed in seeds:
        mode = ("hierarchical", "decentralized")[seed % 2]
        faults = FAULTS[mode]
        out.append((seed, mode, faults[(seed // 2) % len(faults)]))
    return out


def summarize(trials: list[Trial]) -> list[dict[str, object]]:
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for t in trials:
        r = rows.setdefault(
            (t.mode, t.fault),
            {"mode": t.mode, "fault": t.fault, "trials": 0, "injected": 0, "finished": 0},
        )
        r["trials"] += 1
        r["injected"] += t.injected
        r["finished"] += t.finished
        r["hung"] = r.get("hung", 0) + t.hung
        r["torn"] = r.get("torn", 0) + len(t.torn)
        r["redone"] = r.get("redone", 0) + len(t.experiments_redone)
        r["repeated"] = r.get("repeated", 0) + len(t.delegations_repeated)
    return sorted(rows.values(), key=lambda r: (str(r["mode"]), str(r["fault"])))


def table(rows: list[dict[str, object]]) -> str:
    cols = ["mode", "fault", "trials", "injected", "finished", "hung", "torn", "redone", "repeated"]
    total = {c: sum(int(str(r[c])) for r in rows) for c in cols[2:]}
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in [*rows, {"mode": "**all**", "fault": "", **total}]:
        lines.append("| " + " | ".join(str(r[c]) for c in cols) + " |")
    return "\n".join(lines)


def run_campaign(seeds: list[int], work: Path, say: Any = print) -> list[Trial]:
    campaign = Campaign(work)
    out = []
    try:
        for seed, mode, fault in plan(seeds):
            t = campaign.trial(seed, mode, fault)
            out.append(t)
            say(
                f"seed {seed:3d} {mode:13s} {fault:18s} calls>={t.kill_after_calls:2d} "
                f"{'finished' if t.finished else t.status:16s} hung={int(t.hung)} "
                f"torn={len(t.torn)} redone={len(t.experiments_redone)} "
                f"repeated={len(t.delegations_repeated)} "
                f"{t.seconds:.0f}s {t.target} {t.note[:80]}"
            )
    finally:
        campaign.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0, help="first seed")
    ap.add_argument("--seeds", default="", help="these seeds (comma-separated) instead")
    ap.add_argument("--work", type=Path, default=None, help="where the runs go (kept)")
    ap.add_argument("--out", type=Path, default=REPO / "bench-results" / "chaos.json")
    a = ap.parse_args()
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    work = a.work or Path(tempfile.mkdtemp(prefix="chaos-"))
    started = time.time()
    seeds = [int(x) for x in a.seeds.split(",")] if a.seeds else []
    trials = run_campaign(seeds or list(range(a.seed, a.seed + a.trials)), work)
    rows = summarize(trials)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(
        json.dumps(
            {
                "trials": len(trials),
                "finished": sum(t.finished for t in trials),
                "hung": sum(t.hung for t in trials),
                "torn_files": sum(len(t.torn) for t in trials),
                "experiments_redone": sum(len(t.experiments_redone) for t in trials),
                "delegations_repeated": sum(len(t.delegations_repeated) for t in trials),
                "minutes": round((time.time() - started) / 60, 1),
                "by_fault": rows,
                "runs": [asdict(t) for t in trials],
            },
            indent=2,
        )
    )
    print(table(rows))
    print(f"wrote {a.out}; runs kept under {work}")


if __name__ == "__main__":
    main()
