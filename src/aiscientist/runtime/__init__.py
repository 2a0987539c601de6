"""The Ray runtime: the only package that imports ray.

Owns bringing Ray up (embedded or a cluster), the actors that wrap the plain agent classes
(orchestrator, specialists, tree), experiments as Ray tasks with resource demands, the driver
of a run, resume and batch. It must not hold state that is not in the workspace.
"""
