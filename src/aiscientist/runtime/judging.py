"""Rubric-judge leaves as Ray tasks: the ``map_fn`` that ``grading.judge`` takes.

The judge in ``aiscientist.grading`` never imports ray; this thin edge runs each leaf's
judgement as a Ray task (the judge function, model included, is put in the object store
once) and collects results with ``ray.wait`` as they finish.
"""

from __future__ import annotations

from collections.abc import Sequence

import ray

from aiscientist.grading.judge import Done, JudgeFn, LeafJob, LeafJudgement, MapFn


def _judge_one(fn: JudgeFn, job: LeafJob) -> LeafJudgement:
    return fn(job)


def make_ray_map(num_cpus: float = 0.25, max_in_flight: int = 32) -> MapFn:
    """A ``map_fn`` running each leaf as a Ray task needing ``num_cpus``.

    At most ``max_in_flight`` leaves are submitted at once, so a big rubric does not flood
    the judge model's endpoint. Ray must already be initialised (see ``runtime.cluster``).
    """
    remote = ray.remote(num_cpus=num_cpus, max_retries=1)(_judge_one)

    def ray_map(
        fn: JudgeFn, jobs: Sequence[LeafJob], done: Done | None = None
    ) -> list[LeafJudgement]:
        if not ray.is_initialized():
            raise RuntimeError("ray_map needs Ray: call runtime.cluster.ensure_ray first")
        fn_ref = ray.put(fn)
        results: dict[int, LeafJudgement] = {}
        index_of: dict[ray.ObjectRef, int] = {}
        pending: list[ray.ObjectRef] = []
        queue = list(enumerate(jobs))
        while queue or pending:
            while queue and len(pending) < max_in_flight:
                i, job = queue.pop(0)
                ref = remote.remote(fn_ref, job)
                index_of[ref] = i
                pending.append(ref)
            ready, pending = ray.wait(pending, num_returns=1)
            for ref in ready:
                i = index_of.pop(ref)
                results[i] = ray.get(ref)
                if done is not None:
                    done(results[i])
        return [results[i] for i in range(len(jobs))]

    return ray_map


def ray_map(fn: JudgeFn, jobs: Sequence[LeafJob], done: Done | None = None) -> list[LeafJudgement]:
    """The default Ray map: 0.25 CPU per leaf, at most 32 leaves in flight."""
    return make_ray_map()(fn, jobs, done)
