"""XLand-MiniGrid gridworlds (the `xminigrid` library): DoorKey and UnlockPickUp, where the env's own
sparse success reward fails at a CPU budget and a designer's shaping does not.

The agent sees a 7x7 egocentric window of a grid of (tile, colour) pairs and must pick up a key, open
the locked door of its colour, then reach a goal square (DoorKey) or pick up a box behind the door
(UnlockPickUp). The environment rewards only success (`1 - 0.9 * steps / max_steps`), so with random
exploration the agent rarely sees a reward once the grid grows. The fitness is the success rate of
evaluation episodes; `sparse` is the environment's reward; `human` adds potential-based shaping over
the three stages (key, door, target), the shaping MiniGrid practitioners write.

xminigrid is an optional dependency (`pip install "rewardlab[xland]"`): the tasks register without it
and say how to install it when built. `XMiniGridAdapter` is the `EnvAdapter` for any xminigrid
environment; its state is xminigrid's own `State` record, so reward programs read `state.grid`,
`state.agent.position`, `state.agent.pocket` and so on, as the context's source code shows.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import jax
import jax.numpy as jnp

from rewardlab.config import PPOConfig
from rewardlab.tasks.adapter import ActionSpec, Step
from rewardlab.tasks.base import BaselineScores, Task
from rewardlab.tasks.classic import _no_signals, _program
from rewardlab.tasks.context import ContextError, TaskContext, reward_contract
from rewardlab.tasks.registry import register

INSTALL = 'XLand-MiniGrid tasks need the xminigrid package: pip install "rewardlab[xland]"'


def _xminigrid() -> Any:
    try:
        import xminigrid
    except ImportError as exc:
        raise ImportError(INSTALL) from exc
    return xminigrid


class XMiniGridAdapter:
    """An xminigrid environment (`xminigrid.make(env_id)`) behind rewardlab's environment contract.

    xminigrid steps a `TimeStep` (state, step type, reward, discount, observation) and never
    auto-resets; the adapter keeps only the `State` between steps and rebuilds the rest, so that reward
    programs see the environment's own state record. `terminated` is the goal test (the discount drops
    to 0 only then), `truncated` the step limit.
    """

    kind = "xminigrid"

    def __init__(self, env_id: str, **params: Any) -> None:
        self.env_id = env_id
        self.env, self.params = _xminigrid().make(env_id, **params)

    def reset(self, key: jax.Array) -> tuple[jax.Array, Any]:
        ts = self.env.reset(self.params, key)
        return ts.observation, ts.state

    def step(self, key: jax.Array, state: Any, action: jax.Array) -> Step:
        from xminigrid.types import StepType, TimeStep

        obs = jnp.zeros(self.obs_shape, jnp.uint8)  # `Environment.step` reads only the state
        ts = TimeStep(state=state, step_type=StepType.MID, reward=jnp.float32(0.0),
                      discount=jnp.float32(1.0), observation=obs)
        out = self.env.step(self.params, ts, action)
        terminated = out.discount == 0
        truncated = (out.state.step_num >= self.params.max_steps) & ~terminated
        return Step(out.observation, out.state, jnp.asarray(out.reward, jnp.float32), terminated, truncated)

    @property
    def action_spec(self) -> ActionSpec:
        return ActionSpec(True, int(self.env.num_actions(self.params)))

    @property
    def obs_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.env.observation_shape(self.params))

    @property
    def max_episode_steps(self) -> int:
        return int(self.params.max_steps)

    @property
    def source_class(self) -> type:
        return type(self.env)

    @property
    def step_method(self) -> str:
        return "step"


# --- the context: xminigrid's own code, reward removed ---------------------------------------------------

# The one reward statement of `Environment.step` and the keyword that passes it on; the context shows
# the rest of the method unchanged. A library version where they no longer match raises ContextError.
_REWARD_LINES = (
    "        reward = jax.lax.select(terminated, 1.0 - 0.9 * (new_state.step_num / params.max_steps), 0.0)\n",
    "            reward=reward,\n",
)


def _source(obj: Any) -> str:
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError) as exc:
        raise ContextError(f"cannot read the source of {getattr(obj, '__name__', obj)}: {exc}") from None


def xland_code(env_class: type) -> str:
    """The code an LLM reads for an xminigrid task: the state records, tile and colour ids, what each
    action does, the step method without its reward, and how this environment builds its grid."""
    from xminigrid import environment, types
    from xminigrid.core import actions, constants

    step = _source(environment.Environment.step)
    for line in _REWARD_LINES:
        if step.count(line) != 1:
            raise ContextError(
                f"xminigrid's Environment.step no longer has the reward line {line.strip()!r}; "
                "the installed version is not the one these tasks were written for"
            )
        step = step.replace(line, "")
    parts = [
        ("xminigrid/types.py (state records)", "\n\n".join(
            _source(c) for c in (types.AgentState, types.State))),
        ("xminigrid/core/constants.py (ids)", "\n\n".join(
            _source(c) for c in (constants.Tiles, constants.Colors))
         + "\n\nDIRECTIONS = jnp.array(((-1, 0), (0, 1), (1, 0), (0, -1)))  # up, right, down, left"),
        ("xminigrid/core/actions.py (what each action does)", _source(actions)),
        ("xminigrid/environment.py: Environment.step", step),
        (f"{env_class.__module__} (how episodes are generated)", _source(env_class)),
    ]
    return "\n\n".join(f"# --- {title} ---\n{code.rstrip()}" for title, code in parts) + "\n"


def _context(task: Task, env_class: type) -> str:
    return TaskContext(
        task=task.name,
        description=task.description,
        code=xland_code(env_class),
        source_name="xminigrid",
        state_fields=tuple(task.state_doc.items()),
        action=task.action_doc,
        fitness=task.fitness_doc,
        contract=reward_contract(),
    ).text


# --- tasks ------------------------------------------------------------------------------------------------

STATE_DOC = {
    "key": "the environment's PRNG key (uint32[2]); not meaningful for rewards",
    "step_num": "int, steps taken in this episode",
    "grid": (
        "uint8 array [height, width, 2] indexed [row, column]: channel 0 the tile id, channel 1 its colour "
        "id (see Tiles and Colors in the code). Row 0 is the top; the outer ring is wall"
    ),
    "agent": (
        "AgentState: .position int[2] = (row, column) of the agent; .direction int 0-3 (up, right, down, "
        "left); .pocket uint8[2] = (tile, colour) of what the agent carries, (0, 0) when empty"
    ),
    "goal_encoding": "the goal's encoding (int array); constant within an episode",
    "rule_encoding": "the rules' encoding (int array); these tasks have no rules",
    "carry": "an empty record (these environments keep no extra state)",
}

ACTION_DOC = (
    "int 0-5: 0 move forward (only onto floor, goal or an open door), 1 turn clockwise, 2 turn "
    "counter-clockwise, 3 pick up the object in front (if the pocket is empty), 4 put down the carried "
    "object in front, 5 toggle the door in front (a locked door opens only while carrying the key of "
    "its colour; toggling an open door closes it)"
)

# An MLP over the flattened 7x7x2 window with normalised inputs (tile and colour ids are small
# integers). A 2x2 convolution stack (16, 32 channels) cost about ten times as much per step on the
# 2-core CPU, which a search pays for every candidate. Evaluation samples actions: a greedy policy that
# turns in place forever scores 0 on every episode and says less about what was learned.
XLAND_PPO = PPOConfig(
    total_timesteps=2_000_000,
    num_envs=64,
    num_steps=64,
    update_epochs=4,
    num_minibatches=8,
    lr=5e-4,
    ent_coef=0.01,
    gamma=0.99,
    hidden=(64, 64),
    activation="relu",
    normalize_obs=True,
    eval_greedy=False,
)


def _success(ep):
    success = jnp.mean(ep["terminated"].astype(jnp.float32))
    return success, {"success_rate": success, "episode_length": jnp.mean(ep["length"])}


def _task(
    name: str,
    env_id: str,
    env_class_path: str,
    description: str,
    programs: str,
    search_timesteps: int,
    baseline: BaselineScores | None,
    success: str,
    ppo: PPOConfig = XLAND_PPO,
) -> Task:
    task = Task(
        name=name,
        description=description,
        make_env=lambda: XMiniGridAdapter(env_id),
        ppo=ppo,
        human=_program(name, f"{programs}_human", "human"),
        sparse=_program(name, "xland_sparse", "sparse"),
        episode_signals=_no_signals,
        fitness=_success,
        fitness_doc=(
            f"success rate: the fraction of evaluation episodes (sampled actions) that {success} within "
            "the episode limit, 0-1"
        ),
        state_doc=STATE_DOC,
        action_doc=ACTION_DOC,
        fitness_range=(0.0, 1.0),
        search_timesteps=search_timesteps,
        baseline_scores=baseline,
    )
    module, cls = env_class_path.split(":")
    env_class = getattr(__import__(module, fromlist=[cls]), cls)
    return dataclasses.replace(task, context_text=_context(task, env_class))


def doorkey(size: int) -> Task:
    _xminigrid()
    return _task(
        name=f"DoorKey-{size}x{size}-XLand",
        env_id=f"MiniGrid-DoorKey-{size}x{size}",
        env_class_path="xminigrid.envs.minigrid.doorkey:DoorKey",
        description=(
            f"XLand-MiniGrid DoorKey, {size}x{size} (walls included). A wall splits the room in two; the "
            "agent and a yellow key start on the left, a green goal square in the bottom-right corner of "
            "the right part, behind a locked yellow door in the wall (positions are random each "
            "episode). The agent must pick up the key, face the door and toggle it open, walk through "
            f"and step onto the goal, within {10 * size * size} steps. It sees a 7x7 window in front of "
            "it; walls block the view. Reach the goal."
        ),
        programs="doorkey",
        success="reach the goal square",
        search_timesteps=81_920 if size == 8 else 163_840,
        # docs/tasks.md, 5 seeds: 8x8 at 81,920 steps human 0.475 (0.06-0.81 per seed), sparse 0.075;
        # 16x16 at 163,840 steps human 0.362 (two seeds ~0.9, three 0), sparse 0.0125
        baseline=BaselineScores(steps=81_920, seeds=5, human=0.475, sparse=0.075)
        if size == 8
        else BaselineScores(steps=163_840, seeds=5, human=0.362, sparse=0.0125),
    )


def unlock_pickup() -> Task:
    _xminigrid()
    return _task(
        name="UnlockPickUp-XLand",
        env_id="MiniGrid-UnlockPickUp",
        env_class_path="xminigrid.envs.minigrid.unlockpickup:UnlockPickUp",
        description=(
            "XLand-MiniGrid UnlockPickUp: two rooms joined by a locked door. The agent and a key of the "
            "door's colour start in the left room, a box-like object (a square) in the right room. The "
            "agent must pick up the key, open the door, put the key down (it can carry one thing), walk "
            "to the object and pick it up. Success is holding the object before the step limit."
        ),
        programs="unlock_pickup",
        success="end holding the object",
        search_timesteps=327_680,
        # docs/tasks.md: at 327,680 steps (5 seeds) human 0.35 (0.19-0.5 per seed), sparse 0.025
        baseline=BaselineScores(steps=327_680, seeds=5, human=0.35, sparse=0.025),
    )


def doorkey_8x8() -> Task:
    return doorkey(8)


def doorkey_16x16() -> Task:
    return doorkey(16)


register("DoorKey-8x8-XLand", doorkey_8x8)
register("DoorKey-16x16-XLand", doorkey_16x16)
register("UnlockPickUp-XLand", unlock_pickup)
