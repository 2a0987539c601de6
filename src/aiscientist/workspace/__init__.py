"""The workspace (File-as-Bus): the system of record of a run.

Owns the region table, atomic writes, role views, append-only logs, the journal and the live
map. Must not import ray, models or agents.
"""

from aiscientist.workspace.atomic import atomic_write_bytes, atomic_write_text, sha256_file
from aiscientist.workspace.map import WorkspaceMap
from aiscientist.workspace.paths import resolve_inside
from aiscientist.workspace.regions import LAYOUT_DIRS, REGIONS, owners
from aiscientist.workspace.view import WorkspaceView

__all__ = [
    "LAYOUT_DIRS",
    "REGIONS",
    "WorkspaceMap",
    "WorkspaceView",
    "atomic_write_bytes",
    "atomic_write_text",
    "owners",
    "resolve_inside",
    "sha256_file",
]
