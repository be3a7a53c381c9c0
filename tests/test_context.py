"""The task context shown to LLMs: environment source with every reward computation removed.

The leak test works from the environment's own source, not from hand-copied text: every expression
the original code assigns to a reward variable (found with `ast`) must be absent from the context's
code block, as must the word "reward" itself.
"""

from __future__ import annotations

import ast
import inspect
import re

import pytest

from rewardlab import tasks
from rewardlab.tasks.context import (
    CODE_FENCE,
    ContextError,
    RewardAnchor,
    environment_code,
    strip_reward,
    task_context,
)

# The gymnax tasks, whose context is their module's source with the reward stripped (the XLand-MiniGrid
# tasks show xminigrid's code assembled from several modules, the Brax tasks Brax's class through their own
# transform: tests/test_xland.py and tests/test_brax.py check those).
TASKS = [name for name in tasks.names() if not name.endswith(("-XLand", "-Brax"))]
# Reward expressions of the gymnax classic-control environments, written out by hand as a second check.
KNOWN_REWARD_EXPRESSIONS = [
    "1.0 - prev_terminal",
    "-1.0 * (1 - done_angle)",
    "0.1 * action ** 2",
    "angle_normalize(state.theta) ** 2",
    "0.1 * state.theta_dot ** 2",
    "0.001 * u ** 2",
    "reward.squeeze()",
    "100 * ((position >= params.goal_position)",
]


def _code_block(context: str) -> str:
    match = re.search(re.escape(CODE_FENCE) + r"\n(.*?)\n```", context, re.S)
    assert match, "the context has no fenced environment code"
    return match.group(1)


def _env_source(task_name: str) -> str:
    return inspect.getsource(inspect.getmodule(tasks.get(task_name).env.source_class))


def _reward_expressions(source: str) -> list[str]:
    """Unparsed values of every assignment to a name containing 'reward' (non-trivial ones)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            trivial = isinstance(node.value, ast.Constant) or (
                isinstance(node.value, ast.UnaryOp) and isinstance(node.value.operand, ast.Constant)
            )
            if any("reward" in n.lower() for n in names) and not trivial:
                out.append(ast.unparse(node.value))
    return out


@pytest.mark.parametrize("task_name", TASKS)
def test_no_reward_leaks_into_the_context_code(task_name):
    context = tasks.get(task_name).context
    code = _code_block(context)
    assert "reward" not in code.lower()
    source = _env_source(task_name)
    expressions = _reward_expressions(source)
    helper_split = tasks.get(task_name).context_text is not None
    assert expressions or task_name == "MountainCar-v0"  # MountainCar's reward is the constant -1.0
    for expr in expressions:
        if expr.isidentifier():
            # A bare name (Asterix's `reward += collision_gold`) was the reward only through that statement,
            # which is gone; the name itself can be dynamics (a picked-up treasure leaves the board).
            continue
        if helper_split and isinstance(ast.parse(expr, mode="eval").body, ast.Call):
            # `state, reward = step_ball_brick(...)` (MinAtar, DeepSea): the call stays for the state it
            # returns, and the helper no longer returns the reward (no "reward" is left in the code).
            continue
        assert expr not in code, f"{task_name}: reward expression {expr!r} leaked"
    for expr in KNOWN_REWARD_EXPRESSIONS:
        assert expr not in code


@pytest.mark.parametrize("task_name", TASKS)
def test_context_keeps_dynamics_observation_and_explanations(task_name):
    task = tasks.get(task_name)
    text = task.context
    code = _code_block(text)
    if task.context_text is None:
        ctx = task_context(task)
        assert text == ctx.text and code == ctx.code.rstrip()
    tree = ast.parse(code)  # valid Python
    names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    assert {"EnvState", "EnvParams", "step_env", "reset_env", "get_obs", "is_terminated"} <= names
    step = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "step_env")
    returns = [n for n in ast.walk(step) if isinstance(n, ast.Return)]
    assert any(isinstance(r.value, ast.Tuple) and any(isinstance(e, ast.Constant) and e.value is Ellipsis
                                                      for e in r.value.elts) for r in returns)
    step_code = ast.unparse(step)
    assert "EnvState(" in step_code or "state.replace(" in step_code, "the state update is dynamics"
    for field, doc in task.state_doc.items():
        assert f"`{field}`: {doc}" in text
    assert task.action_doc in text and task.description in text and task.fitness_doc in text
    assert "def compute_reward(state, action, next_state):" in text
    assert "jnp.where" in text


@pytest.mark.parametrize("task_name", TASKS)
def test_contract_example_in_the_context_passes_the_static_check(task_name):
    from rewardlab.sandbox import check_static

    text = tasks.get(task_name).context
    template = text.split("## Your reward function", 1)[1]
    code = re.search(r"```python\n(.*?)\n```", template, re.S).group(1)
    filled = code.replace("term_a = ...", "term_a = jnp.float32(0.0)").replace("term_b = ...", "term_b = 1.0")
    assert check_static(filled).ok


def test_pendulum_reward_only_helper_is_dropped():
    code = environment_code(tasks.get("Pendulum-v1"))
    assert "angle_normalize" not in code
    acrobot = environment_code(tasks.get("Acrobot-v1"))
    assert "def rk4" in acrobot and "def wrap" in acrobot and "def dsdt" in acrobot  # used by dynamics
    assert "done_angle = " in acrobot  # is_terminated's own copy of the same test stays


SYNTHETIC = '''
"""A toy environment; the reward is shaped."""
import jax.numpy as jnp

BONUS = 2.0


def shaping(x):
    return x * x


def only_for_bonus(x):
    return x + 1


class Env:
    reward_scale: float = 1.0

    def step(self, state, action):
        """Advance the state."""
        old = state.x
        bonus_base = only_for_bonus(old)
        x = state.x + action
        reward = shaping(x) - shaping(old)
        reward += BONUS * bonus_base
        scaled = reward * 2
        if x > 1:
            x = 1.0
        return x, scaled, x > 1

    def compute_reward(self, state):
        return state.x

    def reward_info(self):
        """Explains the reward."""
        return {"reward": 1}
'''


def test_strip_reward_on_a_synthetic_environment():
    code = strip_reward(SYNTHETIC)
    assert "reward" not in code.lower()
    tree = ast.parse(code)
    step = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "step")
    text = ast.unparse(step)
    assert "x = state.x + action" in text
    assert "return (x, ..., x > 1)" in text
    assert "scaled" not in text  # derived from the reward: removed
    assert "bonus_base" not in text and "old" not in text  # only the reward read them
    assert "def shaping" not in code and "def only_for_bonus" not in code  # reward-only helpers
    assert "BONUS = 2.0" in code  # module constants stay
    assert "Advance the state." in code  # docstrings without the word stay


def test_strip_reward_refuses_code_it_cannot_clean():
    with pytest.raises(ContextError):
        strip_reward("def step(state, reward_weight):\n    return state * 2\n")


# --- users' own environments ----------------------------------------------------------------------------
#
# Each test writes a small gymnax environment into a file outside the package, the way a user would (with
# a `make_task()` factory at the end), and loads it through `resolve("FILE.py:make_task")`. The point moves
# on a line towards GOAL; `{helpers}`, `{methods}`, `{step}` and `{tail}` are what each test varies.

USER_ENV = '''\
"""A point on a line that must reach the goal: a user's environment."""
from typing import Any, Callable

import jax
import jax.numpy as jnp
from flax import struct
from gymnax.environments import environment, spaces

from rewardlab.tasks import from_gymnax

GOAL = 1.0


@struct.dataclass
class EnvState(environment.EnvState):
    pos: jax.Array
    vel: jax.Array
    time: int


@struct.dataclass
class EnvParams(environment.EnvParams):
    dt: float = 0.1
    max_steps_in_episode: int = 50

{helpers}

class PointEnv(environment.Environment[EnvState, EnvParams]):
    @property
    def default_params(self) -> EnvParams:
        return EnvParams()

    def reset_env(self, key: jax.Array, params: EnvParams) -> tuple[jax.Array, EnvState]:
        state = EnvState(pos=jax.random.uniform(key, minval=-1.0, maxval=0.0), vel=jnp.float32(0.0), time=0)
        return self.get_obs(state), state

    def step_env(self, key: jax.Array, state: EnvState, action: Any, params: EnvParams) -> Any:
        vel = state.vel + (action - 1) * params.dt
        pos = state.pos + vel * params.dt
{step}

    def get_obs(self, state: EnvState, params: Any = None, key: Any = None) -> jax.Array:
        return jnp.array([state.pos, state.vel])

    def action_space(self, params: Any = None) -> spaces.Discrete:
        return spaces.Discrete(3)

    def observation_space(self, params: EnvParams) -> spaces.Box:
        return spaces.Box(-10.0, 10.0, (2,), jnp.float32)
{methods}
{tail}

def make_task():
    return from_gymnax(
        PointEnv(), name="point", description="Move the point onto the goal.", check={check}, {extra}
    )
'''

# The dynamics every user environment shares; each must survive the transform.
USER_DYNAMICS = [
    "vel = state.vel + (action - 1) * params.dt",
    "pos = state.pos + vel * params.dt",
    "state = EnvState(pos=pos, vel=vel, time=state.time + 1)",
    "GOAL = 1.0",
    "class EnvState(environment.EnvState):",
    "max_steps_in_episode: int = 50",
    "return jnp.array([state.pos, state.vel])",
]


def _user_task(tmp_path, *, step, helpers="", methods="", tail="", extra="", check=False, stem="point_env"):
    """The task of a user's file (written from USER_ENV), loaded the way `rewardlab search FILE:make_task`
    loads it. `check_task` is skipped unless asked for: these tests are about the context."""
    from rewardlab.tasks.ref import resolve

    path = tmp_path / f"{stem}.py"
    path.write_text(USER_ENV.format(helpers=helpers, methods=methods, step=step, tail=tail, extra=extra,
                                    check=check))
    task, _ = resolve(f"{path}:make_task", check=check)
    return task


def _assert_reward_free(
    code: str, reward_expressions: list[str], dynamics: list[str] = USER_DYNAMICS
) -> None:
    """The reward expressions are gone, the dynamics are kept, and the reward slot of step_env is `...`."""
    assert "reward" not in code.lower()
    for expr in reward_expressions:
        assert ast.unparse(ast.parse(expr)) == expr, f"write {expr!r} as ast.unparse prints it"
        assert expr not in code, f"reward expression {expr!r} leaked"
    for line in dynamics:
        assert line in code, f"dynamics {line!r} missing"
    tree = ast.parse(code)
    step = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "step_env")
    returns = [n for n in ast.walk(step) if isinstance(n, ast.Return)]
    assert returns
    for ret in returns:
        slot = ret.value.elts[2]
        assert isinstance(slot, ast.Constant) and slot.value is Ellipsis, ast.unparse(ret)


def test_user_reward_named_r_goes_and_a_helper_termination_shares_stays(tmp_path):
    task = _user_task(
        tmp_path,
        helpers="def distance(pos):\n    return jnp.abs(GOAL - pos)\n",
        step=(
            "        r = 1.0 - 2.0 * distance(pos)\n"
            "        r = jnp.where(pos > GOAL, r - 0.5, r)\n"
            "        r -= 0.01 * jnp.abs(vel)\n"
            "        state = EnvState(pos=pos, vel=vel, time=state.time + 1)\n"
            "        done = distance(pos) < 0.05\n"
            "        return self.get_obs(state), state, r, done, {'r': r}\n"
        ),
        check=True,  # once: the user environment of these tests is a valid task
    )
    code = environment_code(task)
    _assert_reward_free(code, ["1.0 - 2.0 * distance(pos)", "jnp.where(pos > GOAL, r - 0.5, r)",
                              "0.01 * jnp.abs(vel)"],
                        [*USER_DYNAMICS, "def distance(pos):", "done = distance(pos) < 0.05"])
    assert "r = " not in code and "'r'" not in code  # the info dict read the reward: blanked as well
    assert "return (self.get_obs(state), state, ..., done, ...)" in code
    assert "A point on a line that must reach the goal" in code  # the module docstring stays


def test_user_reward_returned_as_an_expression(tmp_path):
    task = _user_task(
        tmp_path,
        step=(
            "        state = EnvState(pos=pos, vel=vel, time=state.time + 1)\n"
            "        done = jnp.abs(GOAL - pos) < 0.05\n"
            "        return self.get_obs(state), state, -jnp.abs(GOAL - pos) - 0.01 * action ** 2, done, {}\n"
        ),
    )
    code = environment_code(task)
    _assert_reward_free(code, ["-jnp.abs(GOAL - pos) - 0.01 * action ** 2", "0.01 * action ** 2"],
                        [*USER_DYNAMICS, "done = jnp.abs(GOAL - pos) < 0.05"])
    assert "return (self.get_obs(state), state, ..., done, {})" in code


def test_user_helpers_only_the_reward_uses_are_dropped(tmp_path):
    task = _user_task(
        tmp_path,
        helpers=(
            "EFFORT_WEIGHT = 0.05\n\n\n"
            "def effort(action):\n    return EFFORT_WEIGHT * (action - 1) ** 2\n\n\n"
            "def square(x):\n    return x * x\n"
        ),
        methods=(
            "\n    def progress(self, old, new):\n"
            "        return square(GOAL - old) - square(GOAL - new)\n"
        ),
        step=(
            "        cost = effort(action) - self.progress(state.pos, pos)\n"
            "        state = EnvState(pos=pos, vel=vel, time=state.time + 1)\n"
            "        done = pos > GOAL\n"
            "        return self.get_obs(state), state, -cost, done, {}\n"
        ),
    )
    code = environment_code(task)
    _assert_reward_free(code, ["effort(action) - self.progress(state.pos, pos)", "square(GOAL - old)"])
    for gone in ("def effort", "EFFORT_WEIGHT", "def progress", "def square", "cost"):
        assert gone not in code, f"{gone!r} only served the reward"
    assert "done = pos > GOAL" in code


USER_SCRIPT_TAIL = '''
HUMAN = """
import jax.numpy as jnp

def compute_reward(state, action, next_state):
    progress = jnp.abs(state.pos - 1.0) - jnp.abs(next_state.pos - 1.0)
    return progress, {"progress": progress}
"""
LOG_DIR = "runs/point"
env = PointEnv()
params = env.default_params
print("point_env loaded", params)


class Plotter:
    def plot(self, states):
        return [s.pos for s in states]


def train(steps: int = 1000, log: Callable = print):
    import subprocess

    log("training")
    return subprocess.run(["rewardlab", "search", __file__ + ":make_task", "--steps", str(steps)])


if __name__ == "__main__":
    import sys

    GOAL = float(sys.argv[1]) if len(sys.argv) > 1 else GOAL
    train()
'''


def test_user_module_content_the_environment_does_not_use_is_left_out(tmp_path):
    task = _user_task(
        tmp_path,
        step=(
            "        gain = jnp.abs(GOAL - state.pos) - jnp.abs(GOAL - pos)\n"
            "        state = EnvState(pos=pos, vel=vel, time=state.time + 1)\n"
            "        return self.get_obs(state), state, gain, pos > GOAL, {}\n"
        ),
        tail=USER_SCRIPT_TAIL,
        extra="human=HUMAN",
    )
    assert "next_state.pos" in task.human.source  # the reward program in a string is the task's human reward
    code = environment_code(task)
    _assert_reward_free(code, ["jnp.abs(GOAL - state.pos) - jnp.abs(GOAL - pos)"])
    for gone in ("make_task", "from_gymnax", "HUMAN", "compute_reward", "next_state", "progress", "LOG_DIR",
                 "PointEnv()", "params = env", "print(", "Plotter", "def train", "subprocess", "__main__",
                 "sys", "Callable"):
        assert gone not in code, f"{gone!r} is not part of the environment"
    assert code.count("GOAL = ") == 1
    for line in ("from typing import Any\n", "\nimport jax\n", "import jax.numpy as jnp",
                 "from flax import struct", "from gymnax.environments import environment, spaces"):
        assert line in code, f"{line!r}: the environment uses it"


def test_user_docstrings_and_comments_about_the_reward_are_dropped(tmp_path):
    task = _user_task(
        tmp_path,
        helpers=(
            "def clip_pos(pos):\n"
            '    """Keep the point on the track; the reward never sees this."""\n'
            "    # Reward shaping would go here.\n"
            "    return jnp.clip(pos, -5.0, 5.0)\n"
        ),
        methods=(
            "\n    def is_terminal(self, state, params):\n"
            '        """Done at the goal: there is no terminal reward bonus."""\n'
            "        return state.pos > GOAL\n"
        ),
        step=(
            "        # Reward: progress towards the goal, in metres.\n"
            "        gain = jnp.abs(GOAL - state.pos) - jnp.abs(GOAL - pos)\n"
            "        state = EnvState(pos=clip_pos(pos), vel=vel, time=state.time + 1)  # the new state\n"
            "        return self.get_obs(state), state, gain, self.is_terminal(state, params), {}\n"
        ),
    )
    code = environment_code(task)
    dynamics = [line for line in USER_DYNAMICS if not line.startswith("state = ")]
    _assert_reward_free(code, ["jnp.abs(GOAL - state.pos) - jnp.abs(GOAL - pos)"],
                        [*dynamics, "return jnp.clip(pos, -5.0, 5.0)", "return state.pos > GOAL"])
    for gone in ("never sees", "bonus", "shaping", "metres", "#"):
        assert gone not in code


DELEGATING_STEP = (
    "        return self._step(state, pos, vel)\n\n"
    "    def _step(self, state, pos, vel):\n"
    "        r = -jnp.abs(GOAL - pos)\n"
    "        state = EnvState(pos=pos, vel=vel, time=state.time + 1)\n"
    "        return self.get_obs(state), state, r, pos > GOAL, {}\n"
)


def test_user_step_that_delegates_is_refused_and_context_text_replaces_it(tmp_path):
    task = _user_task(tmp_path, step=DELEGATING_STEP)
    with pytest.raises(ContextError) as err:
        _ = task.context
    message = str(err.value)
    assert "\n" not in message
    assert "PointEnv.step_env" in message and "point_env.py" in message
    assert "self._step(state, pos, vel)" in message and "5-tuple" in message
    assert 'context="..."' in message and "from_gymnax" in message

    text = "A point moves on a line; the state is (pos, vel); reach pos = 1."
    own = _user_task(tmp_path, step=DELEGATING_STEP, extra=f"context={text!r}", stem="point_env_with_context")
    assert own.context == text


@pytest.mark.parametrize(
    ("step", "methods", "why"),
    [
        (  # the tuple is built first and returned by name
            "        out = (self.get_obs(state), state, -pos, pos > GOAL, {})\n        return out\n",
            "", "returns `out`",
        ),
        (  # four elements
            "        return self.get_obs(state), state, -pos, pos > GOAL\n", "", "not a literal 5-tuple",
        ),
        (  # no return at all
            "        raise NotImplementedError\n", "", "has no return statement",
        ),
    ],
)
def test_user_step_whose_reward_cannot_be_found_is_refused(tmp_path, step, methods, why):
    task = _user_task(tmp_path, step=step, methods=methods)
    with pytest.raises(ContextError) as err:
        _ = task.context
    message = str(err.value)
    assert "PointEnv.step_env" in message and why in message and 'context="..."' in message


def test_step_method_of_a_base_class_in_the_same_module_is_found():
    source = '''
import jax.numpy as jnp


class Base:
    def step_env(self, key, state, action, params):
        cost = jnp.abs(state - 1.0)
        return state, state + action, -cost, state > 1.0, {}


class Point(Base):
    def get_obs(self, state):
        return state


class Unrelated(Base):
    pass
'''
    code = strip_reward(source, RewardAnchor("Point", "step_env"))
    assert "cost" not in code and "jnp.abs(state - 1.0)" not in code and "import jax" not in code
    assert "return (state, state + action, ..., state > 1.0, {})" in code
    assert "class Base" in code and "class Point(Base)" in code and "Unrelated" not in code
    with pytest.raises(ContextError, match="Point has no step_env"):
        strip_reward("class Point:\n    def get_obs(self, state):\n        return state\n",
                     RewardAnchor("Point", "step_env"))


def test_a_reward_slot_left_in_place_is_refused(monkeypatch):
    """The last check does not trust the transform: a step method still returning its reward is refused."""
    from rewardlab.tasks import reward_strip

    source = "class P:\n    def step_env(self, key, s, a, p):\n        return s, s, -s, s > 1, {}\n"
    assert "return (s, s, ..., s > 1, {})" in strip_reward(source, RewardAnchor("P", "step_env"))
    forgetful = lambda *args, **kwargs: None  # a transform that forgot to strip the step method
    monkeypatch.setattr(reward_strip, "_strip_function", forgetful)
    with pytest.raises(ContextError, match=r"P\.step_env still returns a reward"):
        strip_reward(source, RewardAnchor("P", "step_env"))
