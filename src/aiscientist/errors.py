"""One exception hierarchy for aiscientist.

::

    AIScientistError
     ├── UserError                  bad input from a person: fix the input and retry
     │    ├── ConfigError           unknown key, bad value, unreadable config file
     │    ├── TaskError             malformed task directory (names file and field)
     │    └── RubricError           malformed rubric.json
     ├── WorkspaceError             the File-as-Bus refused an operation
     │    ├── PathEscapeError       a path leaves the workspace (.., absolute, symlink)
     │    └── RegionPermissionError a role wrote outside its regions
     ├── MessageTooLargeError       an actor message exceeds the size cap
     ├── ModelError                 the language model failed
     │    ├── TransientModelError   rate limit, 5xx, timeout: retried with backoff
     │    ├── ModelFormatError      a reply that is no tool call: fed back to the model
     │    └── FatalModelError       auth, bad request: never retried
     │         └── ModelServerDiedError the embedded model's server process died
     ├── BudgetExhaustedError       a hard budget (USD, tokens, wall clock) was reached
     ├── ToolError                  a tool call the model can fix; sent back to it
     ├── SandboxError               the sandbox could not run a command at all
     ├── GradingError               a submission cannot be graded (invalid, missing)
     ├── ClusterError               Ray lost an actor the run needs beyond its retries
     ├── TreeError                  the hypothesis tree refused a mutation
     │    ├── IllegalTransitionError a hypothesis state change not in the state machine
     │    └── ClaimConflictError    a live lease is held by someone else, or was lost
     └── RunStopped                 control flow: the run ended (finish, limit)

Errors the model can fix (``ToolError``) go back to it as tool results; everything else
propagates and stops the session with the workspace intact and resumable.
"""

from __future__ import annotations


class AIScientistError(Exception):
    """Base of every error raised on purpose by aiscientist."""


class UserError(AIScientistError):
    """Bad input from a person; the message says how to fix it."""


class ConfigError(UserError):
    """Invalid configuration: an unknown key, a bad value or an unreadable file."""


class TaskError(UserError):
    """A task directory is malformed; the message names the file and the field."""


class RubricError(TaskError):
    """A rubric.json is malformed; the message names the node and the field."""


class WorkspaceError(AIScientistError):
    """The workspace refused an operation."""


class PathEscapeError(WorkspaceError):
    """A path resolves outside the workspace."""


class RegionPermissionError(WorkspaceError):
    """A role tried to write a region it does not own."""


class MessageTooLargeError(AIScientistError):
    """An actor message is larger than the cap: pass a Pointer instead of content."""


class ModelError(AIScientistError):
    """The language model failed."""


class TransientModelError(ModelError):
    """A failure worth retrying: rate limit, server error, timeout, connection."""


class ModelFormatError(ModelError):
    """A reply the model's tool protocol cannot turn into a tool call. The agent loop shows
    the model its reply and this message, and the session goes on; ``completion`` is the
    reply (its usage counts)."""

    def __init__(self, message: str, completion: object) -> None:
        super().__init__(message)
        self.completion = completion


class FatalModelError(ModelError):
    """A failure not worth retrying: authentication, bad request, unknown model."""


class ModelServerDiedError(FatalModelError):
    """The embedded model's server process exited or was killed: retrying cannot help; the
    message names the signal or exit code and the server's log. The run stops resumable."""


class BudgetExhaustedError(AIScientistError):
    """A hard budget is spent; the run stops cleanly and can be resumed with more."""


class ToolError(AIScientistError):
    """A tool call failed in a way the model can fix; its message goes back to the model."""


class SandboxError(AIScientistError):
    """The sandbox could not start the command (not: the command failed)."""


class GradingError(AIScientistError):
    """A submission cannot be graded: missing, or invalid against the sample."""


class TreeError(AIScientistError):
    """The hypothesis tree refused a mutation (unknown node, bad reference, bad value)."""


class IllegalTransitionError(TreeError):
    """A hypothesis state change that the state machine does not allow."""


class ClaimConflictError(TreeError):
    """A hypothesis is leased by another owner, or the caller's lease expired or was taken."""


class RunStopped(AIScientistError):
    """Control flow: the agent finished or hit a limit."""

    def __init__(self, reason: str, status: str = "finished") -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


class ClusterError(AIScientistError):
    """Ray lost an actor the run needs (beyond its retries); resume the run to continue."""


class InfeasibleExperimentError(AIScientistError):
    """No node of the cluster has the resources an experiment asks for: it would wait
    unscheduled forever, so it is refused at submit."""
