"""The Ultimatum game as the responder, for rewards stated in words (Kwon et al. 2023's first testbed).

A proposer offers the agent k of 10 coins, k drawn uniformly from 0..10 each episode; the agent accepts
(both keep their shares) or rejects (nobody gets anything). Each episode is one decision. The
environment's own payoff (coins received) favours accepting everything; what the user wants is stated
in words instead, e.g. "accept only offers that give me at least 30 % of the coins". That objective is
the ground truth: the fitness is how often the greedy policy decides as the objective says, averaged over
the eleven offers (each offer counts once, however often evaluation drew it). `human` is the objective
written as a code reward (1 when the decision agrees with it), `sparse` the payoff; `describe_episode`
writes the episode in words for an LLM judge (`rewardlab.rewards.judge`), which is the point of the task.

`ultimatum(min_share=0.3)` builds the game for another threshold; the registered `Ultimatum-v0` uses
30 % (accept k >= 3).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct
from gymnax.environments import environment, spaces

from rewardlab.config import PPOConfig
from rewardlab.tasks.base import Task
from rewardlab.tasks.builder import from_gymnax
from rewardlab.tasks.registry import register

COINS = 10
NAME = "Ultimatum-v0"
MIN_SHARE = 0.3
OBJECTIVE = "Accept only offers that give me at least 30 % of the coins; reject the others."


@struct.dataclass
class EnvState(environment.EnvState):
    offer: jax.Array  # coins offered to the agent this episode, int 0..10 (of 10)
    accepted: jax.Array  # bool, True once the agent accepted the offer (False before it decides)
    time: int  # steps taken this episode: 0 before the decision, 1 after it


@struct.dataclass
class EnvParams(environment.EnvParams):
    max_steps_in_episode: int = 1


class UltimatumGame(environment.Environment[EnvState, EnvParams]):
    """The responder's side of a one-shot Ultimatum game over 10 coins. Action 0 rejects, 1 accepts."""

    @property
    def default_params(self) -> EnvParams:
        return EnvParams()

    def step_env(self, key: jax.Array, state: EnvState, action: Any, params: EnvParams):
        accept = jnp.asarray(action) == 1
        reward = jnp.where(accept, state.offer, 0).astype(jnp.float32)  # the coins the agent receives
        new = EnvState(offer=state.offer, accepted=accept, time=state.time + 1)
        return self.get_obs(new), new, reward, self.is_terminated(new, params), {}

    def is_terminated(self, state: EnvState, params: EnvParams) -> jax.Array:
        """Every episode ends with the agent's one decision."""
        return jnp.asarray(state.time >= 1)

    def reset_env(self, key: jax.Array, params: EnvParams):
        offer = jax.random.randint(key, (), 0, COINS + 1)
        state = EnvState(offer=offer, accepted=jnp.bool_(False), time=0)
        return self.get_obs(state), state

    def get_obs(self, state: EnvState, params: Any = None, key: Any = None) -> jax.Array:
        return jax.nn.one_hot(state.offer, COINS + 1, dtype=jnp.float32)

    def action_space(self, params: Any = None) -> spaces.Discrete:
        return spaces.Discrete(2)

    def observation_space(self, params: Any) -> spaces.Box:
        return spaces.Box(0.0, 1.0, (COINS + 1,), jnp.float32)


def min_offer(min_share: float) -> int:
    """The smallest offer the objective accepts (at least `min_share` of the coins)."""
    return math.ceil(round(min_share * COINS, 6))


def describe_episode(state: Any, action: Any, next_state: Any) -> str:
    """The finished episode in words (numpy leaves of one environment; see `Task.describe_episode`)."""
    k = int(np.asarray(state.offer))
    coins = "coin" if k == 1 else "coins"
    offer = f"The proposer offered me {k} of the {COINS} coins ({100 * k // COINS} %)"
    if int(np.asarray(action)) == 1:
        return f"{offer} and I accepted, so I received {k} {coins} and the proposer kept {COINS - k}."
    return f"{offer} and I rejected the offer, so neither of us received anything."


HUMAN_SOURCE = '''\
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    """1 when the decision is the one the objective asks for: accept offers of at least {min_k} coins."""
    fair = state.offer >= {min_k}
    accepted = action == 1
    objective = 1.0 * (fair == accepted).astype(jnp.float32)
    total = objective
    return total, {{"objective": objective}}
'''


def _signals(min_k: int):
    def signals(state: Any, action: Any, next_state: Any, terminated: Any) -> dict[str, jax.Array]:
        agree = ((state.offer >= min_k) == (jnp.asarray(action) == 1)).astype(jnp.float32)
        out: dict[str, jax.Array] = {}
        for k in range(COINS + 1):
            hit = (state.offer == k).astype(jnp.float32)
            out[f"seen_{k}"] = hit
            out[f"agree_{k}"] = hit * agree
        return out

    return signals


def _fitness(ep: Any) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Agreement with the objective per offer, averaged over the offers evaluation drew."""
    seen = jnp.stack([jnp.sum(ep[f"seen_{k}"]) for k in range(COINS + 1)])
    agree = jnp.stack([jnp.sum(ep[f"agree_{k}"]) for k in range(COINS + 1)])
    drawn = seen > 0
    per_offer = jnp.where(drawn, agree / jnp.maximum(seen, 1.0), 0.0)
    agreement = jnp.sum(per_offer) / jnp.maximum(jnp.sum(drawn), 1.0)
    accept_rate = jnp.mean(ep["env_return"] > 0)
    return agreement, {
        "agreement": agreement,
        "episode_agreement": jnp.sum(agree) / jnp.maximum(jnp.sum(seen), 1.0),
        "coins": jnp.mean(ep["env_return"]),
        "paid_episodes": accept_rate,
    }


def ultimatum(min_share: float = MIN_SHARE, name: str = NAME) -> Task:
    """The game whose objective is "accept only offers of at least `min_share` of the coins"."""
    if not 0.0 <= min_share <= 1.0:
        raise ValueError(f"min_share must be in [0, 1], got {min_share}")
    min_k = min_offer(min_share)
    pct = round(100 * min_share)
    task = from_gymnax(
        UltimatumGame(),
        name=name,
        description=(
            f"The Ultimatum game, played as the responder. A proposer splits {COINS} coins and offers the "
            f"agent a share of 0 to {COINS} coins (drawn at random each episode). The agent accepts, and "
            "both keep their shares, or rejects, and nobody gets anything. Each episode is one decision. "
            f"The user's objective: accept only offers that give the agent at least {pct} % of the coins "
            f"(at least {min_k}), and reject the others."
        ),
        fitness=_fitness,
        signals=_signals(min_k),
        fitness_doc=(
            f"agreement of the greedy policy's decisions with the objective (accept exactly the offers of "
            f"at least {min_k} of {COINS} coins), averaged over the offers drawn in evaluation (0-1)"
        ),
        fitness_range=(0.0, 1.0),
        state_doc={
            "offer": f"int 0..{COINS}: coins the proposer offers the agent this episode (of {COINS})",
            "accepted": "bool: True after the agent accepted the offer (False before it decides)",
            "time": "int: 0 before the decision, 1 after it (every episode is one step)",
        },
        action_doc="int: 0 rejects the offer, 1 accepts it",
        human=HUMAN_SOURCE.format(min_k=min_k),
        ppo=PPOConfig(
            total_timesteps=12_288,
            num_envs=32,
            num_steps=8,
            update_epochs=4,
            num_minibatches=2,
            lr=3e-3,
            ent_coef=0.01,
            gamma=0.99,
            normalize_obs=False,
            normalize_reward=False,
            hidden=(32, 32),
            n_checkpoints=4,
            eval_episodes=128,
        ),
        search_timesteps=4_096,
    )
    return dataclasses.replace(task, describe_episode=describe_episode)


def ultimatum_task() -> Task:
    return ultimatum()


register(NAME, ultimatum_task)
