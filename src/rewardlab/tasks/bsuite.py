"""bsuite's DeepSea on gymnax: the exploration benchmark where a sparse reward sits behind a small cost.

The agent descends an N x N grid one row per step, choosing left or right each time; only moving right
on every step reaches the treasure in the bottom-right corner, and every step right costs a little.
Which of the two actions means "right" is drawn per cell (a fixed map, the same in every episode) and
is not part of the observation, only of the state. A random policy finds the treasure once in 2^N
episodes, so the sparse reward fails as N grows, while shaping that knows the rewarding direction
solves it. The fitness is the success rate of greedy evaluation episodes; the environment is
deterministic, so each evaluation is 0 or 1.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
from gymnax.environments.bsuite.deep_sea import DeepSea

from rewardlab.config import PPOConfig
from rewardlab.tasks.adapter import GymnaxAdapter
from rewardlab.tasks.base import BaselineScores, Task
from rewardlab.tasks.classic import _program
from rewardlab.tasks.helper_context import helper_context
from rewardlab.tasks.registry import register

SIZE = 20
NAME = f"DeepSea-{SIZE}"
# `step_reward` returns the reward and the treasure counter `denoised_return` (a state field) together;
# the context shows the counter's update in its place.
CONTEXT_REPLACE = {
    "reward, denoised_return = step_reward("
    "state, action_right, right_cond, rand_reward, self.size, params)": (
        "denoised_return = state.denoised_return + "
        "jnp.logical_and(state.column == self.size - 1, action_right)"
    )
}


def _env() -> GymnaxAdapter:
    return GymnaxAdapter(DeepSea(size=SIZE))


def _signals(state, action, next_state, terminated):
    treasure = (next_state.denoised_return > state.denoised_return).astype(jnp.float32)
    on_path = (next_state.column == next_state.row).astype(jnp.float32)
    return {"treasure": treasure, "depth": on_path + treasure}


def _success_fitness(ep):
    """Success rate; `depth` is how many of the SIZE steps stayed on the only path to the treasure."""
    success = jnp.mean((ep["treasure"] > 0).astype(jnp.float32))
    return success, {"success_rate": success, "depth": jnp.mean(ep["depth"])}


def deep_sea() -> Task:
    task = Task(
        name=NAME,
        description=(
            f"bsuite DeepSea of size {SIZE}. The agent starts in the top-left cell of a {SIZE}x{SIZE} grid "
            f"and descends one row per step, moving one column left or right as it does (it cannot leave "
            f"the grid: left in column 0 stays in column 0), so every episode lasts exactly {SIZE} steps. "
            f"A treasure waits beyond the bottom-right cell: it is reached only by moving right on every "
            f"single step. Which of the two actions moves right differs from cell to cell (a fixed random "
            f"map, the same in every episode, readable from the state but not from the observation, "
            f"which only shows the agent's cell). Reach the treasure."
        ),
        make_env=_env,
        ppo=PPOConfig(
            total_timesteps=200_000,
            num_envs=16,
            num_steps=SIZE * 4,
            update_epochs=4,
            num_minibatches=4,
            lr=1e-3,
            ent_coef=0.01,
            gamma=0.99,
            hidden=(64, 64),
        ),
        human=_program(NAME, "deep_sea_human", "human"),
        sparse=_program(NAME, "deep_sea_sparse", "sparse"),
        episode_signals=_signals,
        fitness=_success_fitness,
        fitness_doc=(
            "fraction of greedy evaluation episodes that reach the treasure (0-1); the environment is "
            "deterministic, so it is 0 or 1 for a given policy"
        ),
        state_doc={
            "row": f"row of the agent, int 0 (top, where it starts) to {SIZE} (past the bottom row: the end)",
            "column": f"column of the agent, int 0 (left, where it starts) to {SIZE - 1}",
            "bad_episode": (
                "bool, True once the agent has left the diagonal row == column (the only path to the "
                "treasure) by moving left"
            ),
            "total_bad_episodes": "int, bad episodes so far (bsuite's statistic; 0 or 1 within one episode)",
            "denoised_return": (
                "int, times the treasure was reached this episode (0 or 1): it becomes 1 when the agent "
                f"moves right from the bottom-right cell (row {SIZE - 1}, column {SIZE - 1})"
            ),
            "optimal_return": "float, the best possible episode return of the environment (a constant)",
            "action_mapping": (
                f"int array ({SIZE}, {SIZE}) indexed [row, column]: the action (0 or 1) that moves right "
                "in that cell; the other action moves left"
            ),
            "time": "steps since the episode started (int)",
        },
        action_doc=(
            "int 0 or 1: state.action_mapping[row, column] moves one column right, the other action one "
            "column left (both also move one row down)"
        ),
        fitness_range=(0.0, 1.0),
        # docs/tasks.md: at 51,200 steps the human reward solves 3 of 5 seeds, sparse none.
        search_timesteps=51_200,
        baseline_scores=BaselineScores(steps=51_200, seeds=5, human=0.6, sparse=0.0),
    )
    return dataclasses.replace(task, context_text=helper_context(task, CONTEXT_REPLACE))


register(NAME, deep_sea)
