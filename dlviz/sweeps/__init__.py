"""Sweeps: many runs of one base config over a grid of settings and seeds (`spec`), run on this
machine (`executors.LocalExecutor`) or on a Ray cluster (`ray_executor.RayExecutor`) by one
driver that alone writes the run store (`driver`), aggregated over seeds with confidence
intervals (`aggregate`)."""
