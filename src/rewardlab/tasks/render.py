"""Jittable rasterisers for the classic-control tasks: one gymnax state in, one RGB frame out.

A vision-language reward (VLM-RM, `rewardlab.rewards.vlm`) needs pictures of what the agent did, and it
needs many of them: every step of every rollout. Gymnax has no renderer that runs under `jax.jit`, so
these draw the scene as signed-distance shapes evaluated on the pixel grid at once (no Python loop over
pixels or states): each shape's distance to every pixel centre becomes an anti-aliased coverage in
[0, 1], and shapes are painted over the background in order. `jax.vmap` renders a batch of states.

The scenes follow Gymnasium's classic-control pictures (white background, black cart, tan pole, red
pendulum rod, a hill curve with a car and a flag) so that a CLIP model that has seen such pictures sees
something familiar. `size` is (height, width) in pixels; 224 x 224 is what CLIP's image encoders take,
so the frame needs no resizing. Pass another size with `functools.partial(cartpole, size=(h, w))`.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

DEFAULT_SIZE = (224, 224)

_WHITE = (1.0, 1.0, 1.0)
_BLACK = (0.0, 0.0, 0.0)
_POLE = (0.80, 0.60, 0.40)
_AXLE = (0.50, 0.50, 0.80)
_ROD = (0.80, 0.30, 0.30)
_GROUND = (0.75, 0.82, 0.70)
_CAR = (0.20, 0.30, 0.70)
_WHEEL = (0.50, 0.50, 0.50)
_FLAG = (0.90, 0.80, 0.00)


# --- drawing primitives --------------------------------------------------------------------------------


def _grid(size: tuple[int, int], x_lo: float, x_hi: float, y_lo: float) -> tuple[jax.Array, jax.Array, float]:
    """World coordinates (y up) of every pixel centre for a view spanning [x_lo, x_hi] horizontally.

    Pixels are square, so the vertical span follows from the frame's aspect ratio. Returns X, Y of
    shape [H, W] and the side of one pixel in world units (the width of the anti-aliasing ramp).
    """
    height, width = size
    pixel = (x_hi - x_lo) / width
    xs = x_lo + (jnp.arange(width, dtype=jnp.float32) + 0.5) * pixel
    ys = y_lo + (height - 0.5 - jnp.arange(height, dtype=jnp.float32)) * pixel
    ones = jnp.ones((height, width), jnp.float32)
    return xs[None, :] * ones, ys[:, None] * ones, pixel


def _coverage(distance: jax.Array, pixel: float) -> jax.Array:
    """How much of each pixel a shape covers, from its signed distance (negative inside), one pixel wide."""
    return jnp.clip(0.5 - distance / pixel, 0.0, 1.0)


def _paint(image: jax.Array, coverage: jax.Array, rgb: tuple[float, float, float]) -> jax.Array:
    colour = jnp.asarray(rgb, jnp.float32)
    return image * (1.0 - coverage[..., None]) + colour * coverage[..., None]


def _box(x, y, cx, cy, half_w: float, half_h: float, angle=0.0) -> jax.Array:
    """Signed distance to a rectangle centred at (cx, cy), rotated counter-clockwise by `angle`."""
    c, s = jnp.cos(angle), jnp.sin(angle)
    dx, dy = x - cx, y - cy
    lx, ly = jnp.abs(c * dx + s * dy) - half_w, jnp.abs(-s * dx + c * dy) - half_h
    outside = jnp.sqrt(jnp.maximum(lx, 0.0) ** 2 + jnp.maximum(ly, 0.0) ** 2)
    return outside + jnp.minimum(jnp.maximum(lx, ly), 0.0)


def _capsule(x, y, ax, ay, bx, by, radius: float) -> jax.Array:
    """Signed distance to a segment from (ax, ay) to (bx, by) thickened by `radius` (a rod)."""
    px, py, ux, uy = x - ax, y - ay, bx - ax, by - ay
    t = jnp.clip((px * ux + py * uy) / jnp.maximum(ux * ux + uy * uy, 1e-12), 0.0, 1.0)
    return jnp.sqrt((px - t * ux) ** 2 + (py - t * uy) ** 2) - radius


def _circle(x, y, cx, cy, radius: float) -> jax.Array:
    return jnp.sqrt((x - cx) ** 2 + (y - cy) ** 2) - radius


def _to_uint8(image: jax.Array) -> jax.Array:
    return jnp.round(jnp.clip(image, 0.0, 1.0) * 255.0).astype(jnp.uint8)


def _blank(size: tuple[int, int]) -> jax.Array:
    return jnp.ones((*size, 3), jnp.float32) * jnp.asarray(_WHITE, jnp.float32)


def _scalar(value: Any) -> jax.Array:
    return jnp.asarray(value, jnp.float32).reshape(())


# --- CartPole-v1 ---------------------------------------------------------------------------------------

_CART_HALF_W, _CART_HALF_H = 0.25, 0.15
_POLE_LENGTH = 1.0  # twice gymnax's `length` (0.5, the half-length), as Gymnasium draws it


def cartpole(state: Any, size: tuple[int, int] = DEFAULT_SIZE) -> jax.Array:
    """CartPole: the track, the cart at `state.x` and the pole at `state.theta` (0 = upright, + = right)."""
    x, theta = _scalar(state.x), _scalar(state.theta)
    gx, gy, pixel = _grid(size, -2.7, 2.7, -2.0)
    image = _blank(size)
    image = _paint(image, _coverage(jnp.abs(gy + _CART_HALF_H) - 0.5 * pixel, pixel), _BLACK)
    image = _paint(image, _coverage(_box(gx, gy, x, 0.0, _CART_HALF_W, _CART_HALF_H), pixel), _BLACK)
    pivot_y = 0.5 * _CART_HALF_H
    tip_x, tip_y = x + _POLE_LENGTH * jnp.sin(theta), pivot_y + _POLE_LENGTH * jnp.cos(theta)
    image = _paint(image, _coverage(_capsule(gx, gy, x, pivot_y, tip_x, tip_y, 0.05), pixel), _POLE)
    image = _paint(image, _coverage(_circle(gx, gy, x, pivot_y, 0.045), pixel), _AXLE)
    return _to_uint8(image)


# --- Pendulum-v1 ---------------------------------------------------------------------------------------


def pendulum(state: Any, size: tuple[int, int] = DEFAULT_SIZE) -> jax.Array:
    """Pendulum: a rod of length 1 from the centre at `state.theta` (0 = upright, + = counter-clockwise)."""
    theta = _scalar(state.theta)
    gx, gy, pixel = _grid(size, -2.2, 2.2, -2.2)
    tip_x, tip_y = -jnp.sin(theta), jnp.cos(theta)
    image = _blank(size)
    image = _paint(image, _coverage(_capsule(gx, gy, 0.0, 0.0, tip_x, tip_y, 0.1), pixel), _ROD)
    image = _paint(image, _coverage(_circle(gx, gy, 0.0, 0.0, 0.05), pixel), _BLACK)
    return _to_uint8(image)


# --- MountainCar-v0 ------------------------------------------------------------------------------------

_CAR_HALF_W, _CAR_HALF_H, _WHEEL_R = 0.12, 0.05, 0.03
_GOAL_POSITION = 0.5


def _hill(x):
    return 0.45 * jnp.sin(3.0 * x) + 0.55


def _hill_slope(x):
    return 1.35 * jnp.cos(3.0 * x)


def mountaincar(state: Any, size: tuple[int, int] = DEFAULT_SIZE) -> jax.Array:
    """MountainCar: the hill `0.45 sin(3x) + 0.55`, the flag at 0.5, and the car at `state.position`."""
    pos = _scalar(state.position)
    gx, gy, pixel = _grid(size, -1.25, 0.65, -0.3)
    image = _blank(size)
    # Distance to the ground, to first order: the vertical gap over the curve's slope factor.
    ground = (gy - _hill(gx)) / jnp.sqrt(1.0 + _hill_slope(gx) ** 2)
    image = _paint(image, _coverage(ground, pixel), _GROUND)
    image = _paint(image, _coverage(jnp.abs(ground) - 0.5 * pixel, pixel), _BLACK)
    flag_x, flag_y = _GOAL_POSITION, _hill(_GOAL_POSITION)
    mast = _capsule(gx, gy, flag_x, flag_y, flag_x, flag_y + 0.2, 0.006)
    image = _paint(image, _coverage(mast, pixel), _BLACK)
    image = _paint(image, _coverage(_box(gx, gy, flag_x + 0.05, flag_y + 0.17, 0.05, 0.03), pixel), _FLAG)
    angle = jnp.arctan(_hill_slope(pos))
    nx, ny = -jnp.sin(angle), jnp.cos(angle)  # the hill's normal at the car
    tx, ty = jnp.cos(angle), jnp.sin(angle)  # and its tangent
    base_x, base_y = pos, _hill(pos)
    lift = _WHEEL_R + _CAR_HALF_H
    cx, cy = base_x + nx * lift, base_y + ny * lift
    image = _paint(image, _coverage(_box(gx, gy, cx, cy, _CAR_HALF_W, _CAR_HALF_H, angle), pixel), _CAR)
    for side in (-1.0, 1.0):
        wx = base_x + nx * _WHEEL_R + tx * side * 0.6 * _CAR_HALF_W
        wy = base_y + ny * _WHEEL_R + ty * side * 0.6 * _CAR_HALF_W
        image = _paint(image, _coverage(_circle(gx, gy, wx, wy, _WHEEL_R), pixel), _WHEEL)
    return _to_uint8(image)
