"""The classic-control rasterisers: frames follow the state (geometry checked in pixels), are
deterministic, and a vmapped batch equals frames rendered one state at a time."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnax.environments.classic_control import cartpole as gx_cartpole
from gymnax.environments.classic_control import mountain_car as gx_mountaincar
from gymnax.environments.classic_control import pendulum as gx_pendulum

from rewardlab.tasks import registry, render

SIZE = 224


def _cart(x=0.0, theta=0.0):
    return gx_cartpole.EnvState(x=jnp.float32(x), x_dot=jnp.float32(0), theta=jnp.float32(theta),
                                theta_dot=jnp.float32(0), time=0)


def _pend(theta):
    return gx_pendulum.EnvState(theta=jnp.float32(theta), theta_dot=jnp.float32(0), last_u=jnp.float32(0),
                                time=0)


def _car(position):
    return gx_mountaincar.EnvState(position=jnp.float32(position), velocity=jnp.float32(0), time=0)


def _centroid(frame, rgb, tol=12):
    """(row, col) centre of the pixels within `tol` of colour `rgb`, and how many there are."""
    mask = np.all(np.abs(np.asarray(frame, np.int32) - np.asarray(rgb)) <= tol, axis=-1)
    rows, cols = np.nonzero(mask)
    assert len(rows) > 0, f"no pixel of colour {rgb}"
    return rows.mean(), cols.mean(), len(rows)


# Jitted once per module: eager rendering dispatches dozens of small programs per frame.
CARTPOLE, PENDULUM, MOUNTAINCAR = (jax.jit(f) for f in (render.cartpole, render.pendulum, render.mountaincar))
POLE, ROD, CAR, BLACK = (204, 153, 102), (204, 77, 77), (51, 77, 178), (0, 0, 0)


def test_frames_are_uint8_rgb_and_deterministic():
    for fn, state in ((render.cartpole, _cart(0.3, 0.1)), (render.pendulum, _pend(0.7)),
                      (render.mountaincar, _car(-0.3))):
        a, b = np.asarray(jax.jit(fn)(state)), np.asarray(jax.jit(fn)(state))
        assert a.shape == (SIZE, SIZE, 3) and a.dtype == np.uint8
        np.testing.assert_array_equal(a, b)


def test_cartpole_cart_follows_x_and_pole_follows_theta():
    px_per_m = SIZE / 5.4
    _, c0, _ = _centroid(CARTPOLE(_cart(0.0)), BLACK, tol=0)
    _, c1, _ = _centroid(CARTPOLE(_cart(1.5)), BLACK, tol=0)
    # The black pixels are the cart and the whole track line; the track does not move, so compare the
    # cart's own column span instead of the centroid's full shift.
    assert c1 > c0
    for x in (-1.5, 0.0, 1.5):
        _, upright, _ = _centroid(CARTPOLE(_cart(x, 0.0)), POLE)
        _, right, _ = _centroid(CARTPOLE(_cart(x, 0.4)), POLE)
        _, left, _ = _centroid(CARTPOLE(_cart(x, -0.4)), POLE)
        expected = SIZE / 2 + x * px_per_m
        assert abs(upright - expected) < 2.0
        # The pole's centre sits half a pole length along it: 0.5 m * sin(theta) to the side.
        assert abs(right - upright - 0.5 * np.sin(0.4) * px_per_m) < 2.0
        assert abs(upright - left - 0.5 * np.sin(0.4) * px_per_m) < 2.0


def test_pendulum_rod_points_where_theta_says():
    px_per_unit = SIZE / 4.4
    up_r, up_c, _ = _centroid(PENDULUM(_pend(0.0)), ROD)
    down_r, down_c, _ = _centroid(PENDULUM(_pend(np.pi)), ROD)
    left_r, left_c, _ = _centroid(PENDULUM(_pend(np.pi / 2)), ROD)
    centre = SIZE / 2
    # The rod's centre is half its length from the pivot; its round cap and the pivot's disc drawn over
    # its base move the visible centre outwards by about two pixels.
    assert abs(up_r - (centre - 0.5 * px_per_unit)) < 3.0 and abs(up_c - centre) < 1.0
    assert abs(down_r - (centre + 0.5 * px_per_unit)) < 3.0 and abs(down_c - centre) < 1.0
    assert abs(left_c - (centre - 0.5 * px_per_unit)) < 3.0 and abs(left_r - centre) < 1.0
    # Unwrapped angles draw the same picture as their wrapped equivalent.
    np.testing.assert_array_equal(np.asarray(PENDULUM(_pend(0.3))),
                                  np.asarray(PENDULUM(_pend(0.3 + 2 * np.pi))))


def test_mountaincar_car_follows_position():
    px_per_unit = SIZE / 1.9
    cols = []
    for pos in (-1.0, -0.52, 0.0, 0.45):
        _, col, _ = _centroid(MOUNTAINCAR(_car(pos)), CAR)
        cols.append(col)
        # The car's body sits on the hill at `position`, lifted along the hill's normal by its wheels and
        # half its height (0.08): its centre is that far left of `position` where the hill rises.
        slope = 1.35 * np.cos(3.0 * pos)
        centre_x = pos - 0.08 * slope / np.sqrt(1.0 + slope**2)
        assert abs(col - (centre_x + 1.25) * px_per_unit) < 1.5
    assert cols == sorted(cols)


@pytest.mark.parametrize("name", ["cartpole", "pendulum", "mountaincar"])
def test_vmapped_batch_equals_single_frames_at_any_size(name):
    fn = functools.partial(getattr(render, name), size=(48, 64))
    states = {
        "cartpole": lambda k: _cart(*jax.random.uniform(k, (2,), minval=-1.0, maxval=1.0)),
        "pendulum": lambda k: _pend(jax.random.uniform(k, (), minval=-4.0, maxval=4.0)),
        "mountaincar": lambda k: _car(jax.random.uniform(k, (), minval=-1.2, maxval=0.6)),
    }[name]
    singles = [states(k) for k in jax.random.split(jax.random.PRNGKey(0), 5)]
    batch = jax.tree_util.tree_map(lambda *xs: jnp.stack(xs), *singles)
    frames = np.asarray(jax.jit(jax.vmap(fn))(batch))
    assert frames.shape == (5, 48, 64, 3) and frames.dtype == np.uint8
    single = jax.jit(fn)
    for i, state in enumerate(singles):
        # Equal up to float rounding (a batched program may fuse the arithmetic differently): one level
        # of 255 on a handful of anti-aliased edge pixels.
        diff = np.abs(frames[i].astype(np.int32) - np.asarray(single(state)).astype(np.int32))
        assert diff.max() <= 1 and np.count_nonzero(diff) <= 10
    assert len({frames[i].tobytes() for i in range(5)}) == 5


def test_classic_tasks_carry_their_renderer():
    assert registry.get("CartPole-v1").render is render.cartpole
    assert registry.get("Pendulum-v1").render is render.pendulum
    assert registry.get("MountainCar-v0").render is render.mountaincar
    assert registry.get("Acrobot-v1").render is None
