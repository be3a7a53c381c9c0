"""Crafting-v0: a small JAX crafting gridworld with Crafter's achievement structure, for ELLM.

Crafter (Hafner 2021) is where ELLM (Du et al. 2023) was measured: an agent gathers materials, places
a table, crafts tools and mines harder materials, and its score is the achievements it unlocks. The
JAX port Craftax-Classic installs with our pins but, on CPU, compiles in ~100 s and steps ~180 times a
second with auto-reset (issue 17's measurement: it regenerates the world every step), far too slow
for a CPU training with a host reward. This is the same tech tree in miniature, written for speed: a
9x9 world, 12 achievements, one `jax.numpy` step of a few dozen array operations (see docs/tasks.md
for its measured compile time and speed).

The world holds grass, trees, water, stone, coal and iron (drawn at random each episode) and what the
agent places: tables and furnaces. The agent moves and faces one of four directions; "do" acts on the
tile it faces (collect wood from a tree, drink water, mine stone and coal with a wood pickaxe, iron with
a stone pickaxe); it places stone, a table or a furnace on the faced tile; it crafts next to a table
(and a furnace for the iron pickaxe). Costs follow Crafter's: table 1 wood, furnace 1 stone, wood
pickaxe and wood sword 1 wood, stone pickaxe 1 wood + 1 stone, iron pickaxe 1 wood + 1 coal + 1 iron.

The environment's reward is Crafter's: +1 for each achievement unlocked for the first time in the
episode. The fitness is the mean number of achievements unlocked per evaluation episode (0-12, actions
sampled from the policy, as Crafter's agents are scored), with
each achievement's success rate among the metrics. `caption` writes states and transitions in words
for ELLM (`rewardlab.rewards.ellm`); `suggest_goals` is a rule-based stand-in for an LLM that proposes
plausible next goals from a state caption (for tests and benchmarks, never a default).
"""

from __future__ import annotations

import dataclasses
import re
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

NAME = "Crafting-v0"
GRID = 9
VIEW = 5  # the agent sees the VIEW x VIEW tiles centred on itself
RADIUS = VIEW // 2
MAX_STEPS = 100
MAX_ITEM = 9

TILES = ("grass", "tree", "water", "stone", "coal", "iron", "table", "furnace")
GRASS, TREE, WATER, STONE, COAL, IRON, TABLE, FURNACE = range(len(TILES))
OUT = len(TILES)  # outside the world, in the agent's view
TILE_PROBS = (0.58, 0.16, 0.07, 0.12, 0.04, 0.03, 0.0, 0.0)  # world draw (tables, furnaces: only placed)

_CUMULATIVE = tuple(float(x) for x in np.cumsum(TILE_PROBS)[:-1])

ITEMS = (
    "wood", "stone", "coal", "iron", "drink", "wood_pickaxe", "stone_pickaxe", "iron_pickaxe", "wood_sword",
)
(WOOD, STONE_I, COAL_I, IRON_I, DRINK, WOOD_PICKAXE, STONE_PICKAXE, IRON_PICKAXE, WOOD_SWORD) = range(9)

ACHIEVEMENTS = (
    "collect_wood",
    "collect_drink",
    "place_table",
    "make_wood_pickaxe",
    "make_wood_sword",
    "collect_stone",
    "place_stone",
    "make_stone_pickaxe",
    "collect_coal",
    "place_furnace",
    "collect_iron",
    "make_iron_pickaxe",
)
ACTIONS = (
    "noop", "left", "right", "up", "down", "do", "place_stone", "place_table", "place_furnace",
    "make_wood_pickaxe", "make_stone_pickaxe", "make_iron_pickaxe", "make_wood_sword",
)
DIRECTIONS = ((0, -1), (0, 1), (-1, 0), (1, 0))  # left, right, up, down as (row, column) steps


@struct.dataclass
class EnvState(environment.EnvState):
    world: jax.Array  # int (9, 9), tile per cell
    pos: jax.Array  # int (2,), the agent's (row, column)
    facing: jax.Array  # int 0-3
    inventory: jax.Array  # int (9,)
    achievements: jax.Array  # bool (12,)
    time: int


@struct.dataclass
class EnvParams(environment.EnvParams):
    max_steps_in_episode: int = MAX_STEPS


class CraftingWorld(environment.Environment[EnvState, EnvParams]):
    """Crafter's tech tree on a 9x9 grid: gather, place, craft, mine; +1 per new achievement."""

    @property
    def default_params(self) -> EnvParams:
        return EnvParams()

    def step_env(self, key: jax.Array, state: EnvState, action: Any, params: EnvParams):
        a = jnp.asarray(action).astype(jnp.int32)
        inv = state.inventory
        move = (a >= 1) & (a <= 4)
        facing = jnp.where(move, a - 1, state.facing)
        target = state.pos + jnp.asarray(DIRECTIONS, jnp.int32)[facing]
        inside = jnp.all((target >= 0) & (target < GRID))
        cell = jnp.clip(target, 0, GRID - 1)
        tile = jnp.where(inside, state.world[cell[0], cell[1]], OUT)
        pos = jnp.where(move & (tile == GRASS), target, state.pos)

        around = jax.lax.dynamic_slice(jnp.pad(state.world, 1, constant_values=OUT), state.pos, (3, 3))
        near_table = jnp.any(around == TABLE)
        near_furnace = jnp.any(around == FURNACE)
        has = inv >= 1
        do = a == 5
        wood = do & (tile == TREE)
        drink = do & (tile == WATER)
        stone = do & (tile == STONE) & has[WOOD_PICKAXE]
        coal = do & (tile == COAL) & has[WOOD_PICKAXE]
        iron = do & (tile == IRON) & has[STONE_PICKAXE]
        place_stone = (a == 6) & has[STONE_I] & ((tile == GRASS) | (tile == WATER))
        place_table = (a == 7) & has[WOOD] & (tile == GRASS)
        place_furnace = (a == 8) & has[STONE_I] & near_table & (tile == GRASS)
        wood_pickaxe = (a == 9) & near_table & has[WOOD]
        stone_pickaxe = (a == 10) & near_table & has[WOOD] & has[STONE_I]
        iron_pickaxe = (a == 11) & near_table & near_furnace & has[WOOD] & has[COAL_I] & has[IRON_I]
        wood_sword = (a == 12) & near_table & has[WOOD]

        delta = jnp.stack([
            _n(wood) - _n(place_table) - _n(wood_pickaxe) - _n(stone_pickaxe) - _n(iron_pickaxe)
            - _n(wood_sword),
            _n(stone) - _n(place_stone) - _n(place_furnace) - _n(stone_pickaxe),
            _n(coal) - _n(iron_pickaxe),
            _n(iron) - _n(iron_pickaxe),
            _n(drink),
            _n(wood_pickaxe),
            _n(stone_pickaxe),
            _n(iron_pickaxe),
            _n(wood_sword),
        ])
        inventory = jnp.clip(inv + delta, 0, MAX_ITEM)
        new_tile = jnp.select(
            [stone | coal | iron, place_stone, place_table, place_furnace],
            [GRASS, STONE, TABLE, FURNACE],
            tile,
        )
        old = state.world[cell[0], cell[1]]
        world = state.world.at[cell[0], cell[1]].set(jnp.where(inside, new_tile, old))
        events = jnp.stack([
            wood, drink, place_table, wood_pickaxe, wood_sword, stone, place_stone, stone_pickaxe, coal,
            place_furnace, iron, iron_pickaxe,
        ])
        unlocked = events & ~state.achievements
        new = EnvState(
            world=world,
            pos=pos,
            facing=facing,
            inventory=inventory,
            achievements=state.achievements | events,
            time=state.time + 1,
        )
        reward = jnp.sum(unlocked).astype(jnp.float32)
        return self.get_obs(new), new, reward, self.is_terminated(new, params), {}

    def is_terminated(self, state: EnvState, params: EnvParams) -> jax.Array:
        """Episodes only end at the time limit (as Crafter's without dying)."""
        return jnp.asarray(False)

    def reset_env(self, key: jax.Array, params: EnvParams):
        # one uniform number per cell, read against the cumulative probabilities (a categorical draw
        # would generate a number per cell and tile type: most of the reset's time on CPU)
        u = jax.random.uniform(key, (GRID, GRID))
        world = jnp.sum(u[..., None] >= jnp.asarray(_CUMULATIVE), axis=-1).astype(jnp.int32)
        centre = GRID // 2
        world = world.at[centre, centre].set(GRASS)
        state = EnvState(
            world=world,
            pos=jnp.asarray([centre, centre], jnp.int32),
            facing=jnp.asarray(3, jnp.int32),
            inventory=jnp.zeros(len(ITEMS), jnp.int32),
            achievements=jnp.zeros(len(ACHIEVEMENTS), bool),
            time=0,
        )
        return self.get_obs(state), state

    def get_obs(self, state: EnvState, params: Any = None, key: Any = None) -> jax.Array:
        view = local_view(state.world, state.pos)
        return jnp.concatenate([
            jax.nn.one_hot(view, len(TILES) + 1, dtype=jnp.float32).reshape(-1),
            jax.nn.one_hot(state.facing, 4, dtype=jnp.float32),
            state.inventory.astype(jnp.float32) / MAX_ITEM,
        ])

    def action_space(self, params: Any = None) -> spaces.Discrete:
        return spaces.Discrete(len(ACTIONS))

    def observation_space(self, params: Any) -> spaces.Box:
        size = VIEW * VIEW * (len(TILES) + 1) + 4 + len(ITEMS)
        return spaces.Box(0.0, 1.0, (size,), jnp.float32)


def _n(flag: jax.Array) -> jax.Array:
    return flag.astype(jnp.int32)


def local_view(world: jax.Array, pos: jax.Array) -> jax.Array:
    """The VIEW x VIEW tiles centred on `pos`, OUT beyond the world's edge."""
    padded = jnp.pad(world, RADIUS, constant_values=OUT)
    return jax.lax.dynamic_slice(padded, pos, (VIEW, VIEW))


# --- words, for ELLM -----------------------------------------------------------------------------------

_ARTICLE = {"tree": "a tree", "table": "a table", "furnace": "a furnace"}
_MADE = {
    WOOD_PICKAXE: "You made a wood pickaxe.",
    STONE_PICKAXE: "You made a stone pickaxe.",
    IRON_PICKAXE: "You made an iron pickaxe.",
    WOOD_SWORD: "You made a wood sword.",
}
_GATHERED = {
    WOOD: "You collected wood.",
    STONE_I: "You collected stone.",
    COAL_I: "You collected coal.",
    IRON_I: "You collected iron.",
    DRINK: "You drank water.",
}
_PLACED = {STONE: "You placed stone.", TABLE: "You placed a table.", FURNACE: "You placed a furnace."}


def _join(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _item_words(inv: np.ndarray) -> list[str]:
    out = []
    for k, name in enumerate(ITEMS[:DRINK]):
        if inv[k] > 0:
            out.append(f"{int(inv[k])} {name}")
    for k in (WOOD_PICKAXE, STONE_PICKAXE, IRON_PICKAXE, WOOD_SWORD):
        if inv[k] > 0:
            out.append(("an " if k == IRON_PICKAXE else "a ") + ITEMS[k].replace("_", " "))
    return out


def caption_state(state: Any) -> str:
    """What the agent sees and has: 'You see a tree, water and stone. You have 2 wood. You are next to a
    table.' (numpy leaves of one environment)."""
    world = np.asarray(state.world)
    r, c = (int(x) for x in np.asarray(state.pos))
    view = world[max(r - RADIUS, 0) : r + RADIUS + 1, max(c - RADIUS, 0) : c + RADIUS + 1]
    seen = [_ARTICLE.get(TILES[t], TILES[t]) for t in range(1, len(TILES)) if (view == t).any()]
    parts = [f"You see {_join(seen)}." if seen else "You see only grass."]
    items = _item_words(np.asarray(state.inventory))
    parts.append(f"You have {_join(items)}." if items else "You have nothing.")
    around = world[max(r - 1, 0) : r + 2, max(c - 1, 0) : c + 2]
    near = [_ARTICLE[TILES[t]] for t in (TABLE, FURNACE) if (around == t).any()]
    if near:
        parts.append(f"You are next to {_join(near)}.")
    return " ".join(parts)


def caption_transition(state: Any, action: Any, next_state: Any) -> str:
    """What the agent just did ('You collected wood.'), '' when it only moved or nothing happened.

    Every interaction changes the inventory (gathering adds, placing and crafting spend), so a step with
    an unchanged inventory is captioned '' without looking further.
    """
    inv, inv2 = np.asarray(state.inventory), np.asarray(next_state.inventory)
    if np.array_equal(inv, inv2):
        return ""
    said = [text for k, text in _MADE.items() if inv2[k] > inv[k]]
    if not said:
        said = [text for k, text in _GATHERED.items() if inv2[k] > inv[k]]
    if not said:
        changed = np.asarray(next_state.world) != np.asarray(state.world)
        placed = np.asarray(next_state.world)[changed]
        said = [_PLACED[int(t)] for t in placed[:1] if int(t) in _PLACED]
    return " ".join(said)


def caption(state: Any, action: Any = None, next_state: Any = None) -> str:
    """`Task.caption` for Crafting-v0: a state's caption, or with an action and next state what was done."""
    if next_state is None:
        return caption_state(state)
    return caption_transition(state, action, next_state)


def suggest_goals(state_caption: str) -> list[str]:
    """Plausible next goals for a state caption, by Crafter's tech tree: a deterministic stand-in for an LLM.

    It reads only the caption (what an LLM would be given) and proposes what a person who knows the
    recipes would: gather what is in view, place a table once there is wood, craft what the inventory
    and the nearby table and furnace allow, mine what the tools allow.
    """
    sentences = [s.strip() for s in state_caption.split(".") if s.strip()]
    see = " ".join(s for s in sentences if s.startswith("You see"))
    have = " ".join(s for s in sentences if s.startswith("You have"))
    near = " ".join(s for s in sentences if s.startswith("You are next to"))
    counts = {m.group(2): int(m.group(1)) for m in re.finditer(r"(\d+) (wood|stone|coal|iron)\b", have)}
    wood, stone, coal, iron = (counts.get(k, 0) for k in ("wood", "stone", "coal", "iron"))
    wp, sp, ip = "wood pickaxe" in have, "stone pickaxe" in have, "iron pickaxe" in have
    table, furnace = "table" in near, "furnace" in near
    goals = []
    if "tree" in see:
        goals.append("collect wood")
    if "water" in see:
        goals.append("drink water")
    if wood >= 1 and not table and "table" not in see:
        goals.append("place a table")
    if table and wood >= 1 and not wp:
        goals.append("make a wood pickaxe")
    if table and wood >= 1 and "wood sword" not in have:
        goals.append("make a wood sword")
    if wp and "stone" in see:
        goals.append("collect stone")
    if wp and "coal" in see:
        goals.append("collect coal")
    if table and wood >= 1 and stone >= 1 and not sp:
        goals.append("make a stone pickaxe")
    if table and stone >= 1 and not furnace:
        goals.append("place a furnace")
    if stone >= 1:
        goals.append("place stone")
    if sp and "iron" in see:
        goals.append("collect iron")
    if table and furnace and wood >= 1 and coal >= 1 and iron >= 1 and not ip:
        goals.append("make an iron pickaxe")
    return goals


# --- rewards and fitness ---------------------------------------------------------------------------------

HUMAN_SOURCE = '''\
import jax.numpy as jnp


def compute_reward(state, action, next_state):
    """New achievements, as the environment pays them, plus a small bonus for every material gathered."""
    unlocked = jnp.sum(next_state.achievements & ~state.achievements).astype(jnp.float32)
    gathered = jnp.sum(jnp.maximum(next_state.inventory[:5] - state.inventory[:5], 0)).astype(jnp.float32)
    achievements = 1.0 * unlocked
    materials = 0.1 * gathered
    total = achievements + materials
    return total, {"achievements": achievements, "materials": materials}
'''


def _signals(state: Any, action: Any, next_state: Any, terminated: Any) -> dict[str, jax.Array]:
    new = (next_state.achievements & ~state.achievements).astype(jnp.float32)
    return {name: new[k] for k, name in enumerate(ACHIEVEMENTS)}


def _fitness(ep: Any) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Mean achievements unlocked per episode; each achievement's rate among the metrics."""
    rates = {name: jnp.mean(jnp.minimum(ep[name], 1.0)) for name in ACHIEVEMENTS}
    total = sum(rates.values())
    return total, {"achievements": total, **{f"rate_{k}": v for k, v in rates.items()}}


def crafting_task() -> Task:
    task = from_gymnax(
        CraftingWorld(),
        name=NAME,
        description=(
            f"A crafting gridworld with Crafter's achievements in miniature. The agent walks a {GRID}x{GRID} "
            "world of grass, trees, water, stone, coal and iron (drawn at random each episode) and sees the "
            f"{VIEW}x{VIEW} tiles around it. It faces the direction it last moved in; 'do' acts on the faced "
            "tile: collects wood from a tree, drinks water, mines stone or coal (needs a wood pickaxe) or "
            "iron (needs a stone pickaxe). It can place stone (on grass or water), a table (1 wood) or a "
            "furnace (1 stone, next to a table) on the faced grass tile, and craft next to a table: a wood "
            "pickaxe or a wood sword (1 wood each), a stone pickaxe (1 wood, 1 stone), and, next to a "
            "furnace too, an iron pickaxe (1 wood, 1 coal, 1 iron). There are 12 achievements "
            f"({', '.join(ACHIEVEMENTS)}); each counts once per episode. Episodes last {MAX_STEPS} steps. "
            "Unlock as many achievements as possible."
        ),
        fitness=_fitness,
        signals=_signals,
        fitness_doc=(
            f"mean number of achievements (of {len(ACHIEVEMENTS)}) unlocked per evaluation episode of "
            f"{MAX_STEPS} steps (actions sampled from the policy)"
        ),
        fitness_range=(0.0, float(len(ACHIEVEMENTS))),
        state_doc={
            "world": (
                f"int array ({GRID}, {GRID}), the tile in each cell [row, column]: "
                + ", ".join(f"{k} {t}" for k, t in enumerate(TILES))
            ),
            "pos": f"int array (2,), the agent's [row, column], 0-{GRID - 1}",
            "facing": "int, the direction the agent faces: 0 left, 1 right, 2 up, 3 down",
            "inventory": (
                f"int array ({len(ITEMS)},), counts 0-{MAX_ITEM} of: "
                + ", ".join(f"{k} {n}" for k, n in enumerate(ITEMS))
            ),
            "achievements": (
                f"bool array ({len(ACHIEVEMENTS)},), True once unlocked this episode: "
                + ", ".join(f"{k} {n}" for k, n in enumerate(ACHIEVEMENTS))
            ),
            "time": f"int, steps taken this episode (the episode ends at {MAX_STEPS})",
        },
        action_doc=(
            "int: " + ", ".join(f"{k} {n}" for k, n in enumerate(ACTIONS)) + " (moving turns the agent to "
            "face that way and steps onto the tile if it is grass; 'do' acts on the faced tile)"
        ),
        human=HUMAN_SOURCE,
        ppo=PPOConfig(
            total_timesteps=1_000_000,
            num_envs=32,
            num_steps=64,
            update_epochs=4,
            num_minibatches=4,
            lr=1e-3,
            ent_coef=0.01,
            gamma=0.99,
            normalize_obs=False,
            normalize_reward=True,
            hidden=(64, 64),
            n_checkpoints=5,
            eval_episodes=64,
            eval_greedy=False,  # a greedy policy can get stuck repeating one action (e.g. 'do' at a tree)
        ),
        search_timesteps=262_144,
    )
    return dataclasses.replace(task, caption=caption)


register(NAME, crafting_task)
