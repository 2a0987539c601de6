"""Hard budgets (USD, tokens, wall clock), checked before every model call.

A guard either counts what its own agent records (a session's own limits), or, given a
``Ledger``, reads the whole run's spend from it (``agents.ledger.run_guard``: the run's one
budget, shared by every role and peer). ``within`` nests a session's guard in the run's: both
are checked, the run's first.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol

from aiscientist.errors import BudgetExhaustedError
from aiscientist.messages import Budget, Usage


class Ledger(Protocol):
    """Where a run's spend is read from (``agents.ledger.RunLedger``)."""

    def usage(self) -> Usage: ...

    def elapsed(self) -> float: ...


@dataclass
class BudgetGuard:
    """Tracks spend against a ``Budget``; ``check`` raises once any limit is reached."""

    budget: Budget
    started: float = field(default_factory=time.monotonic)
    spent: Usage = Usage()
    """What this guard's own agents recorded (the session's spend)."""
    ledger: Ledger | None = None
    """When set, the limits apply to the run's spend read from it, not to ``spent``."""
    within: BudgetGuard | None = None
    """An enclosing guard (the run's) checked before this one."""

    def record(self, usage: Usage) -> None:
        self.spent = self.spent + usage

    def used(self) -> Usage:
        """The spend the limits apply to."""
        return self.ledger.usage() if self.ledger is not None else self.spent

    @property
    def elapsed(self) -> float:
        if self.ledger is not None:
            return self.ledger.elapsed()
        return time.monotonic() - self.started

    def check(self) -> None:
        if self.within is not None:
            self.within.check()
        b = self.budget
        used = self.used()
        if b.usd is not None and used.cost_usd >= b.usd:
            raise BudgetExhaustedError(f"USD budget spent: ${used.cost_usd:.4f} of ${b.usd:.4f}")
        if b.tokens is not None and used.total_tokens >= b.tokens:
            raise BudgetExhaustedError(f"token budget spent: {used.total_tokens} of {b.tokens}")
        elapsed = self.elapsed
        if b.wall_seconds is not None and elapsed >= b.wall_seconds:
            raise BudgetExhaustedError(
                f"wall-clock budget spent: {elapsed:.0f}s of {b.wall_seconds:.0f}s"
            )

    def remaining(self) -> Budget:
        """What is left, as a ``Budget`` to hand to a delegate."""
        b = self.budget
        used, elapsed = self.used(), self.elapsed
        return Budget(
            usd=None if b.usd is None else max(0.0, b.usd - used.cost_usd),
            tokens=None if b.tokens is None else max(0, b.tokens - used.total_tokens),
            wall_seconds=None if b.wall_seconds is None else max(0.0, b.wall_seconds - elapsed),
            steps=b.steps,
        )

    def describe(self) -> str:
        """One line for prompts: used and left."""
        b = self.budget
        used = self.used()
        parts = [f"{used.calls} model calls", f"{used.total_tokens} tokens"]
        if b.tokens is not None:
            parts[-1] += f" of {b.tokens}"
        parts.append(f"${used.cost_usd:.4f}" + (f" of ${b.usd:.2f}" if b.usd else ""))
        wall = f"{self.elapsed / 60:.1f} min"
        if b.wall_seconds is not None:
            wall += f" of {b.wall_seconds / 60:.1f} min"
        parts.append(wall)
        return "Budget used: " + ", ".join(parts)
