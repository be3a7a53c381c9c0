"""Brax locomotion on MuJoCo MJX: Ant, Humanoid and Hopper, the Eureka paper's kind of task, for GPUs.

The agent controls a simulated robot's joint torques and must run forward (+x). The fitness is the
forward distance the robot covers in an evaluation episode (torso for Ant and Hopper, centre of mass for
Humanoid, the point each environment's own reward tracks); an episode ends when the robot becomes
unhealthy (falls, flips) or after 1000 steps. `human` is the environment's own reward written as a reward
program over the state (forward velocity + alive bonus - control cost; a parity test holds it to the
environment's number), `sparse` is forward velocity alone, the fitness as a reward.

Why Brax's own environments on the `mjx` backend: brax 0.14.2 and mujoco-mjx 3.17 install with
rewardlab's JAX pins (MuJoCo Playground 0.2.0 also does, but pulls in `warp` and more for the same
robots); the `mjx` backend stays finite under random actions where `generalized` returned NaN for Ant
(see docs/tasks.md), and it is the backend Brax and MuJoCo maintain. Brax's own trainers are not used
(they call `jax.device_put_replicated`, gone in jax 0.10): rewardlab's engine trains these tasks.

On a CPU the tasks register, pass `check_task` and train, but a compile takes minutes and a policy
needs tens of millions of steps: `practical_on` is "GPU". brax is an optional dependency
(`pip install "rewardlab[brax]"`): the tasks register without it and say how to install it when built.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import io
import warnings
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from rewardlab.config import PPOConfig
from rewardlab.tasks.adapter import ActionSpec, Step
from rewardlab.tasks.base import Task
from rewardlab.tasks.brax_context import strip_brax_reward
from rewardlab.tasks.classic import _program
from rewardlab.tasks.context import ContextError, TaskContext, reward_contract
from rewardlab.tasks.registry import register

INSTALL = 'Brax locomotion tasks need brax and mujoco-mjx: pip install "rewardlab[brax]"'
BACKEND = "mjx"
EPISODE_STEPS = 1000


def _brax_envs() -> Any:
    """`brax.envs`, imported quietly: MuJoCo MJX prints "Failed to import warp" twice to stdout when the
    optional NVIDIA Warp backend is absent (we never use it), which would land in `rewardlab tasks`' table."""
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            from brax import envs
    except ImportError as exc:
        raise ImportError(INSTALL) from exc
    return envs


class BraxCarry(NamedTuple):
    """What the adapter carries from one step to the next: Brax's whole physics state (`pipeline_state`,
    MuJoCo MJX's `Data` with Brax's views; the next step needs all of it) and the step count."""

    pipeline_state: Any
    time: jax.Array


class BraxState(NamedTuple):
    """What reward programs see (`BraxAdapter.reward_state`): the quantities locomotion rewards are made
    of, read off the physics state after every step so that a reward needs no physics code.

    Slim on purpose: the engine records this view of every step of a rollout twice (state and
    next_state) for the reward, and with MJX's whole `Data` (mass matrix, contacts, constraint forces) a
    recorded step was 15-20x larger (benchmarks/brax_memory.py; docs/tasks.md, "Memory of a rollout").
    """

    qpos: jax.Array
    qvel: jax.Array
    torso_pos: jax.Array
    com: jax.Array
    time: jax.Array
    body_pos: jax.Array
    body_rot: jax.Array
    body_vel: jax.Array
    body_ang: jax.Array
    qfrc_actuator: jax.Array


class BraxAdapter:
    """A Brax `PipelineEnv` (`brax.envs.get_environment(name, backend=...)`) behind rewardlab's contract.

    Brax's `step(state, action)` reads only the physics state of its `State` record and returns the
    next one with the reward and a `done` flag (1.0 when the robot is unhealthy); it never resets and
    has no step limit of its own (Brax adds that with a wrapper). The adapter carries a `BraxCarry`
    (the whole physics state) between steps, counts the steps itself (`truncated` at `episode_steps`) and
    passes the environment's reward on as `env_reward`. Rewards see `reward_state`'s slim `BraxState`
    instead of the carried record. Actions are a box [-1, 1]^n, as Brax's environments expect.
    """

    kind = "brax"

    def __init__(self, env_name: str, backend: str = BACKEND, episode_steps: int = EPISODE_STEPS,
                 **env_kwargs: Any) -> None:
        self.env_name = env_name
        self.backend = backend
        self.episode_steps = int(episode_steps)
        with warnings.catch_warnings():  # "Brax System, pipelines and environments are not actively
            # being maintained": true of Brax's own pipelines; the tasks use MJX, which is maintained
            warnings.filterwarnings("ignore", message="Brax System", category=UserWarning)
            self.env = _brax_envs().get_environment(env_name, backend=backend, **env_kwargs)
        self._inertia = self.env.sys.link.inertia
        self._obs_shape: tuple[int, ...] | None = None

    def _com(self, ps: Any) -> jax.Array:
        """Centre of mass of all links (mass-weighted inertia frames), as Brax's Humanoid computes it."""
        x_i = ps.x.vmap().do(self._inertia.transform)
        mass = self._inertia.mass
        return jnp.sum(mass[:, None] * x_i.pos, axis=0) / jnp.sum(mass)

    def _view(self, ps: Any, time: jax.Array) -> BraxState:
        """The state record, read off the physics state `ps` after every step."""
        return BraxState(
            qpos=ps.q,
            qvel=ps.qd,
            torso_pos=ps.x.pos[0],
            com=self._com(ps),
            time=time,
            body_pos=ps.x.pos,
            body_rot=ps.x.rot,
            body_vel=ps.xd.vel,
            body_ang=ps.xd.ang,
            qfrc_actuator=ps.qfrc_actuator,
        )

    def reward_state(self, carried: BraxCarry) -> BraxState:
        """What reward programs see of the carried state (`tasks.adapter.reward_state`): the slim view."""
        return self._view(carried.pipeline_state, carried.time)

    def reset(self, key: jax.Array) -> tuple[jax.Array, BraxCarry]:
        s = self.env.reset(key)
        return s.obs, BraxCarry(s.pipeline_state, jnp.int32(0))

    def step(self, key: jax.Array, state: BraxCarry, action: jax.Array) -> Step:
        from brax.envs.base import State

        zero = jnp.float32(0.0)
        brax_state = State(state.pipeline_state, jnp.zeros(self.obs_shape), zero, zero, {}, {})
        out = self.env.step(brax_state, action)
        time = state.time + 1
        terminated = jnp.asarray(out.done) > 0.5
        truncated = (time >= self.episode_steps) & ~terminated
        reward = jnp.asarray(out.reward, jnp.float32)
        return Step(out.obs, BraxCarry(out.pipeline_state, time), reward, terminated, truncated)

    @property
    def action_spec(self) -> ActionSpec:
        n = int(self.env.action_size)
        return ActionSpec(False, n, -jnp.ones((n,), jnp.float32), jnp.ones((n,), jnp.float32))

    @property
    def obs_shape(self) -> tuple[int, ...]:
        if self._obs_shape is None:  # traced, not run: Brax's own `observation_size` runs a reset eagerly
            obs = jax.eval_shape(self.env.reset, jax.random.PRNGKey(0)).obs
            self._obs_shape = tuple(int(d) for d in obs.shape)
        return self._obs_shape

    @property
    def max_episode_steps(self) -> int:
        return self.episode_steps

    @property
    def source_class(self) -> type:
        return type(self.env)

    @property
    def step_method(self) -> str:
        return "step"

    @property
    def dt(self) -> float:
        """Seconds of simulated time per environment step."""
        return float(self.env.dt)


# --- fitness: forward distance of an evaluation episode -----------------------------------------------


def _torso_x(state: BraxState) -> jax.Array:
    return state.torso_pos[0]


def _com_x(state: BraxState) -> jax.Array:
    return state.com[0]


def _signals(forward_x):
    def signals(state, action, next_state, terminated):
        return {"forward_distance": forward_x(next_state) - forward_x(state)}

    return signals


def _fitness(dt: float):
    def fitness(ep):
        distance = jnp.mean(ep["forward_distance"])
        velocity = jnp.mean(ep["forward_distance"] / (jnp.maximum(ep["length"], 1.0) * dt))
        return distance, {
            "forward_distance": distance,
            "forward_velocity": velocity,
            "episode_length": jnp.mean(ep["length"]),
            "env_return": jnp.mean(ep["env_return"]),
        }

    return fitness


# --- training defaults ------------------------------------------------------------------------------------

# For a GPU: thousands of environments per run and short rollouts, the shape of Brax's published PPO
# settings for these robots (discount 0.97, observation normalisation, reward scaling); a search batches
# candidates x seeds into one program, so 16 x 4 runs of 1,024 environments step 65,536 robots at once.
# Not tuned here: no GPU was lent while these tasks were written (docs/tasks.md).
GPU_PPO = PPOConfig(
    total_timesteps=50_000_000,
    num_envs=1024,
    num_steps=16,
    update_epochs=4,
    num_minibatches=32,
    lr=3e-4,
    gamma=0.97,
    gae_lambda=0.95,
    ent_coef=1e-2,
    hidden=(256, 256),
    activation="tanh",
    normalize_obs=True,
    normalize_reward=True,
    log_std_init=-0.5,
    eval_episodes=16,
)

# For a CPU smoke run (what tests/test_brax.py trains): the smallest batch that exercises every part of
# the program; pass it as the engine's config (`ppo_jax.train(task, rewards, CPU_PPO)`). It teaches no
# robot to walk.
CPU_PPO = PPOConfig(
    total_timesteps=512,
    num_envs=8,
    num_steps=16,
    update_epochs=2,
    num_minibatches=2,
    lr=3e-4,
    gamma=0.97,
    hidden=(32, 32),
    normalize_obs=True,
    normalize_reward=True,
    n_checkpoints=2,
    eval_episodes=2,
)


# --- tasks ------------------------------------------------------------------------------------------------

_COMMON_DOC = {
    "torso_pos": "float[3], world position (x, y, z) of the torso body in metres; +x is forward",
    "com": "float[3], world position of the robot's centre of mass (all bodies, mass-weighted) in metres",
    "time": "int, steps taken in this episode (the episode is cut off at 1000)",
    "body_pos": "float[{n}, 3], world position (x, y, z) of each body's frame in metres; bodies: {bodies}",
    "body_rot": "float[{n}, 4], world orientation of each body as a unit quaternion (w, x, y, z)",
    "body_vel": "float[{n}, 3], world linear velocity of each body's frame origin (m/s)",
    "body_ang": "float[{n}, 3], world angular velocity of each body (rad/s)",
    "qfrc_actuator": (
        "float[{nv}], the actuators' forces mapped onto the generalized coordinates, in qvel's order "
        "(zero for the unactuated torso coordinates; N m for the hinge joints)"
    ),
}


def _state_doc(qpos: str, qvel: str, n_bodies: int, bodies: str, nv: int) -> dict[str, str]:
    """One entry per field of `BraxState`, in its order (`check_task` holds the two to each other)."""
    doc = {"qpos": qpos, "qvel": qvel}
    for name in BraxState._fields:
        if name not in doc:
            doc[name] = _COMMON_DOC[name].format(n=n_bodies, bodies=bodies, nv=nv)
    return doc


@dataclasses.dataclass(frozen=True)
class _Robot:
    """What differs between the three tasks."""

    name: str
    env_name: str
    env_class_path: str
    dt: float
    forward_x: Any
    forward_doc: str
    description: str
    qpos: str
    qvel: str
    n_bodies: int
    bodies: str
    nv: int
    action: str
    programs: str


def _code(env_class: type) -> str:
    """Brax's environment class (reward removed) and how rewardlab reads the state off it."""
    adapter = "\n\n".join(inspect.getsource(f) for f in (BraxAdapter._com, BraxAdapter._view))
    return (
        f"# --- {env_class.__module__}.{env_class.__name__} (backend 'mjx') ---\n"
        + strip_brax_reward(env_class).rstrip()
        + "\n\n# --- rewardlab.tasks.brax: how the record `state` / `next_state` is built after every "
        "step from the physics state `ps` (the pipeline_state above) ---\n"
        + inspect.cleandoc("\n" + adapter)
        + "\n"
    )


def _task(robot: _Robot) -> Task:
    _brax_envs()
    task = Task(
        name=robot.name,
        description=robot.description,
        make_env=functools.partial(BraxAdapter, robot.env_name),
        ppo=GPU_PPO,
        human=_program(robot.name, f"{robot.programs}_human", "human"),
        sparse=_program(robot.name, f"{robot.programs}_sparse", "sparse"),
        episode_signals=_signals(robot.forward_x),
        fitness=_fitness(robot.dt),
        fitness_doc=(
            f"forward distance in metres: how far the {robot.forward_doc} moves along +x during an "
            "evaluation episode (greedy policy; it ends when the robot becomes unhealthy or after 1000 "
            f"steps of {robot.dt} s), averaged over episodes; higher is better"
        ),
        state_doc=_state_doc(robot.qpos, robot.qvel, robot.n_bodies, robot.bodies, robot.nv),
        action_doc=robot.action,
        search_timesteps=10_000_000,
        practical_on="GPU",
    )
    module, cls = robot.env_class_path.split(":")
    env_class = getattr(__import__(module, fromlist=[cls]), cls)
    try:
        code = _code(env_class)
    except (OSError, TypeError) as exc:
        raise ContextError(f"cannot read the source of {robot.env_class_path}: {exc}") from None
    context = TaskContext(
        task=task.name,
        description=task.description,
        code=code,
        source_name=module,
        state_fields=tuple(task.state_doc.items()),
        action=task.action_doc,
        fitness=task.fitness_doc,
        contract=reward_contract(),
    ).text
    return dataclasses.replace(task, context_text=context)


_FORWARD = "Run forward (+x) as far and as fast as possible without falling."

ANT = _Robot(
    name="Ant-Brax",
    env_name="ant",
    env_class_path="brax.envs.ant:Ant",
    dt=0.05,
    forward_x=_torso_x,
    forward_doc="torso",
    description=(
        "Brax Ant on MuJoCo MJX: a four-legged robot (a round torso and four two-link legs, eight hinge "
        "joints) starts standing at the origin. Each step (0.05 s) the agent sets the torques of the eight "
        "joints. The episode ends when the torso's height leaves [0.2, 1.0] m (the ant flipped or jumped) "
        f"or after 1000 steps. {_FORWARD}"
    ),
    qpos=(
        "float[15], generalized positions: [0:3] torso x, y, z (metres; z = torso height, index 2), "
        "[3:7] torso orientation quaternion (w, x, y, z), [7:15] joint angles (rad) hip_1, ankle_1 "
        "(front left), hip_2, ankle_2 (front right), hip_3, ankle_3 (back left), hip_4, ankle_4 (back right)"
    ),
    qvel=(
        "float[14], generalized velocities: [0:3] torso linear velocity x, y, z (m/s; index 0 = forward "
        "velocity), [3:6] torso angular velocity (rad/s), [6:14] joint velocities in qpos's joint order"
    ),
    n_bodies=9,
    bodies=(
        "0 torso, then for k = 1..4 bodies 2k-1 and 2k, the upper and lower link of the leg driven by "
        "hip_k and ankle_k"
    ),
    nv=14,
    action=(
        "float array of shape (8,) in [-1, 1] (clipped): torques of hip_1, ankle_1, hip_2, ankle_2, hip_3, "
        "ankle_3, hip_4, ankle_4"
    ),
    programs="ant_brax",
)

HOPPER = _Robot(
    name="Hopper-Brax",
    env_name="hopper",
    env_class_path="brax.envs.hopper:Hopper",
    dt=0.008,
    forward_x=_torso_x,
    forward_doc="torso",
    description=(
        "Brax Hopper on MuJoCo MJX: a one-legged planar robot (torso, thigh, leg, foot; three hinge "
        "joints) starts upright. Each step (0.008 s) the agent sets the torques of the thigh, leg and "
        "foot joints. The episode ends when the robot is unhealthy (torso height z <= 0.7 m, torso pitch "
        f"outside [-0.2, 0.2] rad, or any |qpos[2:]|, |qvel| >= 100) or after 1000 steps. {_FORWARD} "
        "(by hopping)."
    ),
    qpos=(
        "float[6], generalized positions: [0] rootx (forward slide, metres), [1] rootz (vertical slide "
        "relative to the start; the torso height is torso_pos[2]), [2] rooty (torso pitch, rad), [3] "
        "thigh_joint, [4] leg_joint, [5] foot_joint angles (rad)"
    ),
    qvel=(
        "float[6], generalized velocities in qpos's order: [0] forward velocity (m/s), [1] vertical "
        "velocity, [2] pitch rate (rad/s), [3:6] joint velocities"
    ),
    n_bodies=4,
    bodies="0 torso, 1 thigh, 2 leg, 3 foot",
    nv=6,
    action=(
        "float array of shape (3,) in [-1, 1] (clipped): torques of thigh_joint, leg_joint, foot_joint"
    ),
    programs="hopper_brax",
)

HUMANOID = _Robot(
    name="Humanoid-Brax",
    env_name="humanoid",
    env_class_path="brax.envs.humanoid:Humanoid",
    dt=0.015,
    forward_x=_com_x,
    forward_doc="centre of mass",
    description=(
        "Brax Humanoid on MuJoCo MJX: a 3D humanoid (torso, abdomen, pelvis, two legs, two arms; 17 hinge "
        "joints) starts standing. Each step (0.015 s) the agent sets the 17 actuators (scaled to "
        "[-0.4, 0.4] times each motor's gear). The episode ends when the torso's height leaves "
        f"[1.0, 2.0] m (it fell) or after 1000 steps. {_FORWARD} (by walking or running)."
    ),
    qpos=(
        "float[24], generalized positions: [0:3] torso x, y, z (metres; z = torso height, index 2), [3:7] "
        "torso orientation quaternion (w, x, y, z), [7:24] joint angles (rad): abdomen_z, abdomen_y, "
        "abdomen_x, right_hip_x, right_hip_z, right_hip_y, right_knee, left_hip_x, left_hip_z, left_hip_y, "
        "left_knee, right_shoulder1, right_shoulder2, right_elbow, left_shoulder1, left_shoulder2, left_elbow"
    ),
    qvel=(
        "float[23], generalized velocities: [0:3] torso linear velocity (m/s; index 0 = forward), [3:6] "
        "torso angular velocity (rad/s), [6:23] joint velocities in qpos's joint order"
    ),
    n_bodies=11,
    bodies=(
        "0 torso, 1 lwaist, 2 pelvis, 3 right_thigh, 4 right_shin, 5 left_thigh, 6 left_shin, "
        "7 right_upper_arm, 8 right_lower_arm, 9 left_upper_arm, 10 left_lower_arm"
    ),
    nv=23,
    action=(
        "float array of shape (17,) in [-1, 1] (clipped): actuators abdomen_y, abdomen_z, abdomen_x, "
        "right_hip_x, right_hip_z, right_hip_y, right_knee, left_hip_x, left_hip_z, left_hip_y, left_knee, "
        "right_shoulder1, right_shoulder2, right_elbow, left_shoulder1, left_shoulder2, left_elbow; the "
        "environment applies 0.4 * action as the motor control"
    ),
    programs="humanoid_brax",
)


def ant() -> Task:
    return _task(ANT)


def hopper() -> Task:
    return _task(HOPPER)


def humanoid() -> Task:
    return _task(HUMANOID)


register("Ant-Brax", ant)
register("Hopper-Brax", hopper)
register("Humanoid-Brax", humanoid)
