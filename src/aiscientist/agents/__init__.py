"""Agents: the loop, tools, prompt templates, the orchestrator, the specialists and the
experiment executor. Plain Python: the runtime makes them Ray actors. Must not import ray."""
