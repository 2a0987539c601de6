"""Agents: the loop, tools, prompt templates, the orchestrator and the specialists (the
experiment tools they use live in ``aiscientist.experiments``). Plain Python: the runtime
makes them Ray actors. Must not import ray."""
