"""A hand-written reward for NarrowPassage (examples/narrow_passage.py) that leads through the gap.

The environment's reward, minus the straight-line distance to the goal, points into the wall whenever
the gap is not on the straight line: the mass learns to press against the wall at the goal's height,
a local optimum that going around would have to get worse to leave. This reward measures the distance
along the way the mass actually has to go: on the left of the wall, the distance to the gap plus the
distance from the gap to the goal; past the gap, the straight distance to the goal. Both pieces agree
at the gap, so the measure is continuous. The reward is minus that path length on every step, plus
the potential-based progress along it (scaled to ~1 per full-speed step), plus a bonus on arrival.
"""

import jax.numpy as jnp


def _path_length(s):
    to_gap = jnp.sqrt(s.x**2 + (s.y - s.gap_y) ** 2)
    gap_to_goal = jnp.sqrt(s.goal_x**2 + (s.goal_y - s.gap_y) ** 2)
    direct = jnp.sqrt((s.x - s.goal_x) ** 2 + (s.y - s.goal_y) ** 2)
    return jnp.where(s.x < 0.0, to_gap + gap_to_goal, direct)


def compute_reward(state, action, next_state):
    path = _path_length(next_state)
    progress = (_path_length(state) - path) / 0.05
    reached = (jnp.sqrt((next_state.x - next_state.goal_x) ** 2 + (next_state.y - next_state.goal_y) ** 2)
               < 0.1).astype(jnp.float32)
    total = -path + 0.5 * progress + 10.0 * reached
    return total, {"path": -path, "progress": progress, "reached": reached}
