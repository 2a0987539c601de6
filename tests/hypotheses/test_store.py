"""TreeStore: write-ahead event log, atomic snapshots, exact rebuild."""

from __future__ import annotations

from pathlib import Path

from aiscientist.errors import IllegalTransitionError
from aiscientist.hypotheses import EvidenceNode, LessonNode
from aiscientist.hypotheses.events import EVENT_DECODER
from aiscientist.hypotheses.store import EVENTS_FILE, SNAPSHOT_FILE, TreeStore, load_tree


def _populate(store: TreeStore, n: int) -> None:
    tree = store.tree
    parent = None
    for i in range(n):
        hid = tree.propose(f"h{i}", author="a", parent=parent, tags=("lr",))
        tree.critique(hid, "b", accept=True)
        tree.claim(hid, "a")
        tree.start(hid, "a")
        ev = tree.add_evidence(
            EvidenceNode(id="", hypothesis_id=hid, exp_id=f"exp-{i}", status="ok", metric=i)
        )
        tree.add_lesson(LessonNode(id="", text=f"lesson {i}", evidence_ids=(ev,)))
        tree.finish(hid, "verified", owner="a")
        parent = hid


def test_each_event_is_on_disk_before_it_is_applied(tmp_path: Path) -> None:
    store = TreeStore(tmp_path / "tree")
    seen: list[int] = []

    def check(_event: object) -> None:
        lines = (tmp_path / "tree" / EVENTS_FILE).read_bytes().splitlines()
        seen.append(EVENT_DECODER.decode(lines[-1]).seq)

    # the hook runs after apply; the log must already hold the event by then
    store.tree.on_applied.insert(0, check)
    _populate(store, 2)
    assert seen == list(range(1, store.tree.version + 1))


def test_rejected_mutation_writes_nothing(tmp_path: Path) -> None:
    store = TreeStore(tmp_path / "tree")
    hid = store.tree.propose("h", author="a")
    size = (tmp_path / "tree" / EVENTS_FILE).stat().st_size
    try:
        store.tree.start(hid, "a")
    except IllegalTransitionError:
        pass
    assert (tmp_path / "tree" / EVENTS_FILE).stat().st_size == size
    assert store.tree.version == 1


def test_rebuild_from_snapshot_plus_log_equals_live_tree(tmp_path: Path) -> None:
    store = TreeStore(tmp_path / "tree", snapshot_every=10)
    _populate(store, 9)  # 63 events: snapshots at 10..60, 3 events after the last
    assert (tmp_path / "tree" / SNAPSHOT_FILE).exists()
    rebuilt = load_tree(tmp_path / "tree")
    assert rebuilt.same_as(store.tree)
    assert rebuilt.version == 63
    # the log alone gives the same tree
    (tmp_path / "tree" / SNAPSHOT_FILE).unlink()
    assert load_tree(tmp_path / "tree").same_as(store.tree)
    store.close()


def test_torn_last_line_is_dropped_and_writing_continues(tmp_path: Path) -> None:
    store = TreeStore(tmp_path / "tree")
    _populate(store, 1)
    live = store.tree
    store.close()
    with open(tmp_path / "tree" / EVENTS_FILE, "ab") as fh:
        fh.write(b'{"type":"propose","seq":8,"at":1.0,"id":"h-torn","ti')
    reopened = TreeStore(tmp_path / "tree")
    assert reopened.tree.same_as(live)
    reopened.tree.propose("after crash", author="a")
    reopened.close()
    rebuilt = load_tree(tmp_path / "tree")
    assert rebuilt.version == 8
    assert "h-torn" not in rebuilt


def test_op_ids_survive_snapshot_and_rebuild(tmp_path: Path) -> None:
    store = TreeStore(tmp_path / "tree", snapshot_every=1)
    hid = store.tree.propose("h", author="a", op_id="op-x")
    store.close()
    reopened = TreeStore(tmp_path / "tree")
    assert reopened.tree.propose("h", author="a", op_id="op-x") == hid
    assert reopened.tree.version == 1
    reopened.close()
