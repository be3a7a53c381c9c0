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
from rewardlab.tasks.context import CODE_FENCE, ContextError, environment_code, strip_reward, task_context

TASKS = tasks.names()
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
    assert expressions or task_name == "MountainCar-v0"  # MountainCar's reward is the constant -1.0
    for expr in expressions:
        assert expr not in code, f"{task_name}: reward expression {expr!r} leaked"
    for expr in KNOWN_REWARD_EXPRESSIONS:
        assert expr not in code


@pytest.mark.parametrize("task_name", TASKS)
def test_context_keeps_dynamics_observation_and_explanations(task_name):
    task = tasks.get(task_name)
    ctx = task_context(task)
    tree = ast.parse(ctx.code)  # valid Python
    names = {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    assert {"EnvState", "EnvParams", "step_env", "reset_env", "get_obs", "is_terminated"} <= names
    step = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "step_env")
    returns = [n for n in ast.walk(step) if isinstance(n, ast.Return)]
    assert any(isinstance(r.value, ast.Tuple) and any(isinstance(e, ast.Constant) and e.value is Ellipsis
                                                      for e in r.value.elts) for r in returns)
    assert "EnvState(" in ast.unparse(step), "the state update is part of the dynamics"
    text = ctx.text
    for field, doc in task.state_doc.items():
        assert f"`{field}`: {doc}" in text
    assert task.action_doc in text and task.description in text and task.fitness_doc in text
    assert "def compute_reward(state, action, next_state):" in text
    assert "jnp.where" in text
    assert text == task.context


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
