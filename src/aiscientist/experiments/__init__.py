"""Experiments: a spec, a run of it and a result, in one package.

- ``records``: the layout of ``agent/experiments/<exp_id>/`` and the one scanner of it;
- ``executor``: runs one experiment in the sandbox (and what the sandbox hides);
- ``pool``: ``ExperimentPool``, the service that runs the experiments of a run;
- ``board``: finished experiments and the best of them by ``val_score``;
- ``tools``: the agent tools (submit, wait, adopt).

Plain Python: must not import ray (``runtime/pool.py`` runs the pool on Ray) nor the runtime.
"""
