"""The Gymnasium side of the environment boundary: a stateful environment that runs on the host.

A gymnax environment is a pair of pure functions that rewardlab jits; a Gymnasium environment is an
object that steps itself (MuJoCo, a user's simulator, anything with `reset()` / `step()`), so it cannot
be traced. `GymnasiumAdapter` answers the same questions as a `GymnaxAdapter` (actions, observation
shape, episode limit, where the source is) and adds what host-side code needs: fresh environments for
a vector env, and the *state record* a reward program reads.

The state record is built from each step's output by a mapping the task gives, field name -> source:

* `"obs"` (the whole observation), `"obs[2]"`, `"obs[0:3]"`: the observation or a part of it;
* `"info.x_velocity"`: a key of the `info` dict (a key that `reset()`'s info lacks reads as zeros in the
  first state of an episode);
* `"env.data.qpos"`: an attribute path on `env.unwrapped` (MuJoCo's `data.qpos`, a simulator's fields);
* `"time"`: the steps since the episode started (0 after a reset), as gymnax states have it;
* a callable `(obs, info, env) -> array` with `env` the unwrapped environment.

Every field is a float32 array (a scalar field has shape `()`), so the record is a pytree that
`jax.jit(jax.vmap(reward))` takes batched, exactly like a gymnax state. Bad mappings, observations that
are not arrays, and environments whose `reset`/`step` raise are refused here with one-line
`GymTaskError`s that blame the task, never a reward candidate.
"""

from __future__ import annotations

import ast
import contextlib
import dataclasses
import difflib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np

from rewardlab.tasks.adapter import ActionSpec

StateSource = str | Callable[[Any, Mapping[str, Any], Any], Any]
Getter = Callable[[Any, Mapping[str, Any], Any], Any]
DEFAULT_STATE: Mapping[str, StateSource] = {"obs": "obs"}


class GymTaskError(ValueError):
    """A Gymnasium environment or its state mapping does not fit rewardlab; one line saying why."""


class EnvStepError(RuntimeError):
    """The environment itself raised inside `reset` or `step` (the task's fault, not a reward's)."""


def exc_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__


@dataclasses.dataclass(frozen=True)
class StateField:
    """One field of the state record: its name, where it comes from (for docs) and how to read it."""

    name: str
    source: str
    get: Getter
    shape: tuple[int, ...] = ()
    from_info: str | None = None  # the info key, when the field reads one
    from_obs: bool = False  # read from the observation alone: batched engines slice it for many steps at once
    obs_index: Any = None  # the index into the observation ("obs[2]", "obs[0:3]"); None for the whole of it
    from_time: bool = False  # the steps since the reset: batched engines count them instead of reading them

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


class GymnasiumAdapter:
    """A Gymnasium environment factory plus the state mapping: the environment contract on the host.

    `make` builds a fresh environment (each vector-env slot and each evaluation episode gets its own);
    `label` names the environment in messages. Construction builds one environment, resets it and
    steps it once with a zero action, so that every problem surfaces here as a `GymTaskError`.
    """

    kind = "gymnasium"
    host = True  # not jittable: engines and samplers step it from Python
    reward_slot = 1  # Gymnasium's step returns (obs, reward, terminated, truncated, info)

    def __init__(
        self,
        make: Callable[[], Any],
        state: Mapping[str, StateSource] | None = None,
        *,
        label: str,
        max_episode_steps: int | None = None,
    ) -> None:
        self.make = make
        self.label = label
        self._limit = max_episode_steps
        env = self.make_env()
        try:
            self._inspect_spaces(env)
            self.fields = self._fields(env, dict(state or DEFAULT_STATE))
        except EnvStepError as exc:
            raise GymTaskError(str(exc)) from None
        finally:
            _close(env)
        self.state_cls = _record_class(label, tuple(f.name for f in self.fields))

    # --- construction ---------------------------------------------------------------------------------

    def make_env(self) -> Any:
        """A fresh environment with its episode limit (a `TimeLimit` is added when the env has none)."""
        import gymnasium

        try:
            env = self.make()
        except Exception as exc:
            raise GymTaskError(f"{self.label}: creating the environment raised {exc_line(exc)}") from None
        if not isinstance(env, gymnasium.Env):
            what = type(env).__name__
            raise GymTaskError(f"{self.label}: the factory returned {what}, not a gymnasium.Env")
        spec_limit = getattr(getattr(env, "spec", None), "max_episode_steps", None) or _wrapped_limit(env)
        if self._limit is None:
            if not spec_limit:
                _close(env)
                raise GymTaskError(
                    f"{self.label}: the environment has no episode limit; pass max_episode_steps=N "
                    "(evaluation episodes run at most that many steps)"
                )
            self._limit = int(spec_limit)
        if not spec_limit or int(spec_limit) != self._limit:
            env = gymnasium.wrappers.TimeLimit(env, self._limit)
        return env

    def _inspect_spaces(self, env: Any) -> None:
        from gymnasium import spaces

        obs_space, act_space = env.observation_space, env.action_space
        if not isinstance(obs_space, spaces.Box):
            raise GymTaskError(
                f"{self.label}: observations must be arrays (a Box space), got {type(obs_space).__name__}; "
                "wrap the environment in gymnasium.wrappers.FlattenObservation"
            )
        if isinstance(act_space, spaces.Discrete):
            if int(act_space.start) != 0:
                raise GymTaskError(
                    f"{self.label}: discrete actions must start at 0 (start={act_space.start})"
                )
            self._spec = ActionSpec(True, int(act_space.n))
        elif isinstance(act_space, spaces.Box):
            low, high = np.asarray(act_space.low, np.float32), np.asarray(act_space.high, np.float32)
            if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
                raise GymTaskError(
                    f"{self.label}: a continuous action space needs finite low and high bounds"
                )
            n = int(np.prod(act_space.shape)) if act_space.shape else 1
            self._spec = ActionSpec(False, n, jnp.asarray(low.reshape(n)), jnp.asarray(high.reshape(n)))
        else:
            raise GymTaskError(
                f"{self.label}: actions must be Discrete or Box, got {type(act_space).__name__}"
            )
        self._act_shape = tuple(act_space.shape or ())
        self._obs_shape = tuple(int(d) for d in obs_space.shape)

    def _fields(self, env: Any, state: dict[str, StateSource]) -> tuple[StateField, ...]:
        if not state:
            raise GymTaskError(f"{self.label}: the state mapping is empty; name at least one field")
        fields = []
        for name, source in state.items():
            if not (isinstance(name, str) and name.isidentifier() and not name.startswith("_")):
                raise GymTaskError(f"{self.label}: state field name {name!r} must be a Python identifier")
            fields.append(_parse_source(name, source, self.label))
        obs, info = self.reset(env, seed=0)
        first = {f.name: self._read(f, obs, info, env, first=True) for f in fields}
        obs2, _, _, _, info2 = self.step(env, self.zero_action())
        out = []
        for f in fields:
            value = self._read(f, obs2, info2, env, first=False)
            if f.from_info is None and first[f.name] is not None and first[f.name].shape != value.shape:
                raise GymTaskError(
                    f"{self.label}: state field {f.name!r} ({f.source}) changes shape between reset and step "
                    f"({first[f.name].shape} -> {value.shape})"
                )
            out.append(dataclasses.replace(f, shape=value.shape))
        return tuple(out)

    def _read(self, f: StateField, obs: Any, info: Mapping[str, Any], env: Any, *, first: bool) -> Any:
        if f.from_info is not None and f.from_info not in info:
            if first:
                return None
            keys = sorted(str(k) for k in info)
            raise GymTaskError(
                f"{self.label}: state field {f.name!r} reads info[{f.from_info!r}], which step() does not "
                f"return{_close_hint(f.from_info, keys)} (info keys: {', '.join(keys) or 'none'})"
            )
        try:
            value = f.get(obs, info, env)
        except GymTaskError:
            raise
        except AttributeError as exc:
            raise GymTaskError(f"{self.label}: state field {f.name!r} ({f.source}): {exc}") from None
        except Exception as exc:
            raise GymTaskError(
                f"{self.label}: state field {f.name!r} ({f.source}) raised {exc_line(exc)}"
            ) from None
        try:
            arr = np.asarray(value, dtype=np.float32)
        except (TypeError, ValueError):
            raise GymTaskError(
                f"{self.label}: state field {f.name!r} ({f.source}) is {type(value).__name__}, not numeric"
            ) from None
        return arr

    # --- stepping (host code) -------------------------------------------------------------------------

    def reset(self, env: Any, seed: int | None = None) -> tuple[Any, dict[str, Any]]:
        """`env.reset(seed=...)`; an exception inside becomes an `EnvStepError` naming the environment."""
        try:
            return env.reset(seed=seed)
        except Exception as exc:
            raise EnvStepError(f"environment {self.label}: reset() raised {exc_line(exc)}") from None

    def step(self, env: Any, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        """`env.step(action)` with an action as rewardlab holds it (int, or a flat float array)."""
        try:
            return env.step(self.env_action(action))
        except Exception as exc:
            raise EnvStepError(f"environment {self.label}: step() raised {exc_line(exc)}") from None

    def env_action(self, action: Any) -> Any:
        if self._spec.discrete:
            return int(np.asarray(action).reshape(()))
        return np.asarray(action, np.float32).reshape(self._act_shape)

    def zero_action(self) -> Any:
        return 0 if self._spec.discrete else np.zeros((self._spec.n,), np.float32)

    def values_of(self, obs: Any, info: Mapping[str, Any], env: Any) -> tuple[np.ndarray, ...]:
        """The state record's field values after a reset or a step, in field order (info keys missing at
        reset read as zeros)."""
        out = []
        for f in self.fields:
            if f.from_info is not None and f.from_info not in info:
                out.append(np.zeros(f.shape, np.float32))
            else:
                out.append(np.asarray(f.get(obs, info, env), np.float32).reshape(f.shape))
        return tuple(out)

    def state_of(self, obs: Any, info: Mapping[str, Any], env: Any) -> Any:
        """The state record after a reset or a step."""
        return self.state_cls(*self.values_of(obs, info, env))

    def stack(self, records: Sequence[Any]) -> Any:
        """Records with a leading batch axis (what a vmapped reward takes)."""
        return self.state_cls(**{
            f.name: np.stack([getattr(r, f.name) for r in records]) for f in self.fields
        })

    @property
    def extra_fields(self) -> tuple[StateField, ...]:
        """The fields that need the step's `info` or the environment object (neither the observation nor
        the step count)."""
        return tuple(f for f in self.fields if not (f.from_obs or f.from_time))

    def extra_of(self, obs: Any, info: Mapping[str, Any], env: Any) -> np.ndarray:
        """The `extra_fields` after a reset or a step as one flat float32 vector (fields in order, each
        raveled): what the `sb3` engine keeps per slot and step; the observation fields it slices later."""
        out = []
        for f in self.extra_fields:
            if f.from_info is not None and f.from_info not in info:
                out.append(np.zeros(f.size, np.float32))
            else:
                out.append(np.asarray(f.get(obs, info, env), np.float32).reshape(f.size))
        return np.concatenate(out) if out else np.zeros(0, np.float32)

    def batch_record(self, obs: np.ndarray, extra: np.ndarray, time: np.ndarray) -> Any:
        """The records of a batch of B steps with a leading batch axis, from the observations `obs`
        (B, *obs_shape), the stacked `extra_of` vectors `extra` (B, width) and the steps since each
        episode's reset `time` (B,): the same values as `stack([state_of(...) ...])`, with one slice per
        observation field instead of one read per step."""
        obs = np.asarray(obs, np.float32)
        batch, start, values = obs.shape[0], 0, {}
        for f in self.fields:
            if f.from_obs:
                part = obs if f.obs_index is None else obs[(slice(None), f.obs_index)]
            elif f.from_time:
                part = np.asarray(time, np.float32)
            else:
                part, start = extra[:, start:start + f.size], start + f.size
            values[f.name] = np.ascontiguousarray(part).reshape((batch, *f.shape))
        return self.state_cls(**values)

    def template(self) -> Any:
        """The state record's structure, leaves as `jax.ShapeDtypeStruct`."""
        return self.state_cls(**{f.name: jax.ShapeDtypeStruct(f.shape, jnp.float32) for f in self.fields})

    def field_docs(self) -> dict[str, str]:
        return {f.name: f"float32 array of shape {f.shape}, from {f.source}" for f in self.fields}

    # --- the EnvAdapter questions -----------------------------------------------------------------------

    @property
    def action_spec(self) -> ActionSpec:
        return self._spec

    @property
    def obs_shape(self) -> tuple[int, ...]:
        return self._obs_shape

    @property
    def max_episode_steps(self) -> int:
        assert self._limit is not None
        return self._limit

    @property
    def source_class(self) -> type:
        env = self.make_env()
        try:
            return type(env.unwrapped)
        finally:
            _close(env)

    @property
    def step_method(self) -> str:
        return "step"


def is_host(env: Any) -> bool:
    """True for adapters that step on the host (Gymnasium) rather than under `jax.jit` (gymnax)."""
    return bool(getattr(env, "host", False))


# --- the state mapping --------------------------------------------------------------------------------


def _parse_source(name: str, source: StateSource, label: str) -> StateField:
    if callable(source):
        what = getattr(source, "__name__", type(source).__name__)
        return StateField(name, f"{what}(obs, info, env)", lambda o, i, e: source(o, i, e.unwrapped))
    if not isinstance(source, str):
        raise GymTaskError(
            f"{label}: state field {name!r} must map to 'obs', 'obs[i]', 'info.KEY', 'env.ATTR' or a "
            f"callable, got {type(source).__name__}"
        )
    text = source.strip()
    if text == "time":
        return StateField(name, "time (steps since the episode started)", lambda o, i, e: _elapsed(e),
                          from_time=True)
    head, _, rest = text.partition(".")
    if text == "obs" or text.startswith("obs["):
        index = _index(text[3:], name, label) if text != "obs" else None
        return StateField(name, text, (lambda o, i, e: np.asarray(o)[index]) if index is not None
                          else (lambda o, i, e: o), from_obs=True, obs_index=index)
    if head == "info" and rest:
        return StateField(name, text, lambda o, i, e: i[rest], from_info=rest)
    if head == "env" and rest and all(p.isidentifier() for p in rest.split(".")):
        return StateField(name, text, _attr_getter(rest.split("."), name, label))
    raise GymTaskError(
        f"{label}: cannot read state field {name!r} = {text!r}; use 'obs', 'obs[i]', 'obs[i:j]', 'info.KEY', "
        "'env.ATTR' (an attribute path on env.unwrapped), 'time' or a callable (obs, info, env) -> array"
    )


def _index(text: str, name: str, label: str) -> Any:
    try:
        node = ast.parse("x" + text, mode="eval").body
        if not isinstance(node, ast.Subscript):
            raise ValueError
        sub = node.slice
        if isinstance(sub, ast.Slice):
            parts = [ast.literal_eval(p) if p is not None else None for p in (sub.lower, sub.upper, sub.step)]
            return slice(*parts)
        value = ast.literal_eval(sub)
        if not isinstance(value, int):
            raise ValueError
        return value
    except (ValueError, SyntaxError):
        raise GymTaskError(
            f"{label}: state field {name!r}: obs{text} is not an integer index or slice"
        ) from None


def _wrapped_limit(env: Any) -> int | None:
    """The episode limit of a `TimeLimit` wrapper around `env` (a user's factory may add one), or None."""
    from gymnasium.wrappers import TimeLimit

    while env is not None:
        if isinstance(env, TimeLimit):
            return int(env._max_episode_steps)
        env = getattr(env, "env", None)
    return None


def _elapsed(env: Any) -> int:
    """Steps since the last reset, from the `TimeLimit` wrapper every adapter's environment has."""
    from gymnasium.wrappers import TimeLimit

    while not isinstance(env, TimeLimit):
        if not hasattr(env, "env"):
            raise GymTaskError("the state field 'time' needs the environment's TimeLimit wrapper")
        env = env.env
    return env._elapsed_steps


def _attr_getter(path: list[str], name: str, label: str) -> Getter:
    def get(obs: Any, info: Mapping[str, Any], env: Any) -> Any:
        obj = env.unwrapped
        for i, part in enumerate(path):
            if not hasattr(obj, part):
                where = "env" + "".join(f".{p}" for p in path[:i])
                names = [n for n in dir(obj) if not n.startswith("__")]
                raise GymTaskError(
                    f"{label}: state field {name!r}: {where} ({type(obj).__name__}) has no attribute "
                    f"{part!r}{_close_hint(part, names)}"
                )
            obj = getattr(obj, part)
        return obj

    return get


def _close_hint(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=3, cutoff=0.6)
    return f"; did you mean {', '.join(close)}?" if close else ""


def _record_class(label: str, names: tuple[str, ...]) -> type:
    """A frozen flax dataclass with one float32 field per name (a pytree jax maps over)."""
    stem = "".join(ch for ch in label.title() if ch.isalnum()) or "Gym"
    doc = f"The state record of {label} (fields: {', '.join(names)})."
    cls = type(f"{stem}State", (), {"__annotations__": dict.fromkeys(names, "Any"), "__doc__": doc})
    return flax.struct.dataclass(cls)


def _close(env: Any) -> None:
    with contextlib.suppress(Exception):
        env.close()
