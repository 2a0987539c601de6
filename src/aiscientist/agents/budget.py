"""Hard budgets (USD, tokens, wall clock), checked before every model call."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from aiscientist.errors import BudgetExhaustedError
from aiscientist.messages import Budget, Usage


@dataclass
class BudgetGuard:
    """Tracks spend against a ``Budget``; ``check`` raises once any limit is reached."""

    budget: Budget
    started: float = field(default_factory=time.monotonic)
    spent: Usage = Usage()

    def record(self, usage: Usage) -> None:
        self.spent = self.spent + usage

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def check(self) -> None:
        b = self.budget
        if b.usd is not None and self.spent.cost_usd >= b.usd:
            raise BudgetExhaustedError(
                f"USD budget spent: ${self.spent.cost_usd:.4f} of ${b.usd:.4f}"
            )
        if b.tokens is not None and self.spent.total_tokens >= b.tokens:
            raise BudgetExhaustedError(
                f"token budget spent: {self.spent.total_tokens} of {b.tokens}"
            )
        if b.wall_seconds is not None and self.elapsed >= b.wall_seconds:
            raise BudgetExhaustedError(
                f"wall-clock budget spent: {self.elapsed:.0f}s of {b.wall_seconds:.0f}s"
            )

    def remaining(self) -> Budget:
        """What is left, as a ``Budget`` to hand to a delegate."""
        b = self.budget
        return Budget(
            usd=None if b.usd is None else max(0.0, b.usd - self.spent.cost_usd),
            tokens=None if b.tokens is None else max(0, b.tokens - self.spent.total_tokens),
            wall_seconds=None
            if b.wall_seconds is None
            else max(0.0, b.wall_seconds - self.elapsed),
            steps=b.steps,
        )

    def describe(self) -> str:
        """One line for prompts: used and left."""
        b = self.budget
        parts = [f"{self.spent.calls} model calls", f"{self.spent.total_tokens} tokens"]
        if b.tokens is not None:
            parts[-1] += f" of {b.tokens}"
        parts.append(f"${self.spent.cost_usd:.4f}" + (f" of ${b.usd:.2f}" if b.usd else ""))
        wall = f"{self.elapsed / 60:.1f} min"
        if b.wall_seconds is not None:
            wall += f" of {b.wall_seconds / 60:.1f} min"
        parts.append(wall)
        return "Budget used: " + ", ".join(parts)
