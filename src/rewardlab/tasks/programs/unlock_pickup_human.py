# Human reward for XLand-MiniGrid UnlockPickUp: the environment's success reward plus potential-based
# shaping over the task's stages (0: looking for the key, 1: carrying the key, 2: the door is open, 3: the
# door is open and the hands are free, as they must be to pick up the object), each with its target (the
# key, the door, then the object), as for DoorKey.
import jax.numpy as jnp

KEY = 7
DOOR_LOCKED = 8
DOOR_CLOSED = 9
DOOR_OPEN = 10
BALL = 3
SQUARE = 4
PYRAMID = 5
HEX = 11
STAR = 12


def where_is(grid, mask):
    """(row, column) of the first cell where `mask` holds, as floats."""
    width = grid.shape[1]
    index = jnp.argmax(mask.reshape(-1))
    return jnp.array([index // width, index % width], dtype=jnp.float32)


def potential(state):
    tiles = state.grid[:, :, 0]
    has_key = state.agent.pocket[0] == KEY
    door_open = jnp.any(tiles == DOOR_OPEN)
    door = (tiles == DOOR_LOCKED) | (tiles == DOOR_CLOSED) | (tiles == DOOR_OPEN)
    thing = (tiles == BALL) | (tiles == SQUARE) | (tiles == PYRAMID) | (tiles == HEX) | (tiles == STAR)
    target = jnp.where(
        door_open, where_is(state.grid, thing),
        jnp.where(has_key, where_is(state.grid, door), where_is(state.grid, tiles == KEY)),
    )
    hands_free = state.agent.pocket[0] == 0
    stage = jnp.where(door_open, jnp.where(hands_free, 3.0, 2.0), jnp.where(has_key, 1.0, 0.0))
    distance = jnp.sum(jnp.abs(state.agent.position.astype(jnp.float32) - target))
    return stage - distance / (tiles.shape[0] + tiles.shape[1])


def compute_reward(state, action, next_state, env_reward):
    success = 1.0 * env_reward
    progress = 0.5 * (potential(next_state) - potential(state))
    total = success + progress
    return total, {"success": success, "progress": progress}
