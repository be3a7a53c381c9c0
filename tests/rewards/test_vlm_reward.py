"""VLM-RM: the goal-baseline reward against hand-worked numbers, a tiny CLIP fitted here on rendered
pendulum frames that makes `VLMReward` rank upright states above the rest, the host-reward contract on
a real gymnax CartPole segment, and the one-line errors for bad encoder directories and tasks."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from gymnax.environments.classic_control.pendulum import EnvState as PendulumState  # noqa: E402

from rewardlab.rewards.clip_encoder import CLIPEncoder, EncoderError  # noqa: E402
from rewardlab.rewards.host import HostReward, Segment, check_output  # noqa: E402
from rewardlab.rewards.vlm import VLMReward, goal_baseline_reward, make_vlm_reward  # noqa: E402
from rewardlab.tasks import registry, render  # noqa: E402
from rewardlab.tasks.vlm import vlm_reward  # noqa: E402

GOAL, BASELINE = "a pendulum balanced upright", "a pendulum"


def tiny_config():
    """A CLIP small enough to fit on a CPU in seconds. Its vision tower is initialised wider than
    CLIP's default (initializer_range 0.5, factor 3): with the default, every frame embeds to nearly
    the same vector and a few hundred steps cannot leave that plateau."""
    return transformers.CLIPConfig(
        text_config=dict(vocab_size=515, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, max_position_embeddings=32,
                         bos_token_id=0, eos_token_id=1, pad_token_id=1),
        vision_config=dict(image_size=64, patch_size=16, hidden_size=48, intermediate_size=96,
                           num_hidden_layers=2, num_attention_heads=2,
                           initializer_range=0.5, initializer_factor=3.0),
        projection_dim=16,
    )


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models on a shared, loaded CPU run many times faster on one torch thread than on two."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _pendulum_states(theta):
    theta = np.asarray(theta, np.float32)
    zero = np.zeros_like(theta)
    return PendulumState(theta=theta, theta_dot=zero, last_u=zero, time=zero.astype(np.int32))


def _segment(next_states, lead):
    return Segment(states=next_states, actions=np.zeros(lead, np.int32), next_states=next_states,
                   done=np.zeros(lead, bool), env_reward=np.ones(lead, np.float32))


def _auc(scores, positive):
    """Probability that a positive example scores above a negative one."""
    return float((scores[positive][:, None] > scores[~positive][None, :]).mean())


# --- the goal-baseline projection, by hand -------------------------------------------------------------


def test_goal_baseline_reward_matches_hand_worked_example():
    # g = e1, b = e2, so d = (e1 - e2)/sqrt(2); the frame x = e3: x - g = (-1, 0, 1), (x - g).d = -1/sqrt(2).
    # alpha = 0:   1 - |(-1, 0, 1)|^2 / 2 = 1 - 1 = 0 (= x.g, the cosine similarity)
    # alpha = 1:   P(x - g) = (-1/2, 1/2, 0), |.|^2 = 1/2, reward 1 - 1/4 = 0.75
    # alpha = 0.5: (P + I)(x - g)/2 = (-3/4, 1/4, 1/2), |.|^2 = 14/16, reward 1 - 7/16 = 0.5625
    g, b, x = np.eye(3)
    for alpha, want in ((0.0, 0.0), (1.0, 0.75), (0.5, 0.5625)):
        got = goal_baseline_reward(x[None], g, b, alpha)
        assert got.dtype == np.float32 and got.shape == (1,)
        assert got[0] == pytest.approx(want, abs=1e-6)
        assert goal_baseline_reward(g[None], g, b, alpha)[0] == pytest.approx(1.0)
    assert goal_baseline_reward(x[None], g, None, 0.0)[0] == pytest.approx(0.0)


def test_goal_baseline_reward_equals_the_matrix_form():
    rng = np.random.default_rng(1)
    unit = rng.normal(size=(7, 5))
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    x, g, b = unit[:5], unit[5], unit[6]
    d = (g - b) / np.linalg.norm(g - b)
    for alpha in (0.0, 0.3, 1.0):
        m = alpha * np.outer(d, d) + (1 - alpha) * np.eye(5)
        want = 1 - 0.5 * np.sum(((x - g) @ m.T) ** 2, axis=1)
        np.testing.assert_allclose(goal_baseline_reward(x, g, b, alpha), want, atol=1e-6)


def test_goal_baseline_reward_rejects_what_has_no_direction():
    g, _, x = np.eye(3)
    with pytest.raises(ValueError, match="needs a baseline"):
        goal_baseline_reward(x[None], g, None, 0.5)
    with pytest.raises(ValueError, match="same vector"):
        goal_baseline_reward(x[None], g, g, 0.5)


# --- a tiny CLIP fitted on rendered frames -------------------------------------------------------------


@pytest.fixture(scope="module")
def fitted_encoder(one_thread):
    """The tiny CLIP trained to tell upright pendulum frames (|theta| < 0.4) from the rest with the goal
    and baseline sentences as the two classes (InfoNCE over the texts; the text tower stays as
    initialised, so the two sentences are fixed random points the image tower learns to reach)."""
    torch.manual_seed(0)
    encoder = CLIPEncoder.from_config(tiny_config(), batch_size=64)
    rng = np.random.default_rng(0)
    theta = np.concatenate([rng.uniform(-0.4, 0.4, 64), rng.uniform(0.5, 2 * np.pi - 0.5, 64)])
    frames = np.asarray(jax.jit(jax.vmap(render.pendulum))(_pendulum_states(theta)))
    pixels = encoder.pixel_values(frames)  # 224 x 224 frames resized to the model's 64 x 64
    labels = torch.tensor(np.cos(theta) > 0.9).long()
    texts = encoder.text_inputs([BASELINE, GOAL])
    model = encoder.model.train()
    opt = torch.optim.Adam([*model.vision_model.parameters(), *model.visual_projection.parameters()], lr=1e-3)
    for _ in range(100):
        unit = torch.nn.functional.normalize
        img = unit(model.get_image_features(pixel_values=pixels).pooler_output, dim=-1)
        txt = unit(model.get_text_features(**texts).pooler_output, dim=-1)
        loss = torch.nn.functional.cross_entropy(10.0 * img @ txt.T, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return encoder


@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_fitted_encoder_ranks_goal_states_above_others(fitted_encoder, alpha):
    rng = np.random.default_rng(7)  # held-out angles, unwrapped as gymnax leaves them
    theta = rng.uniform(-2 * np.pi, 2 * np.pi, 96)
    states = jax.tree_util.tree_map(lambda a: a.reshape(12, 8), _pendulum_states(theta))
    reward = VLMReward(render.pendulum, fitted_encoder, GOAL, BASELINE, alpha, batch_size=40)
    out = reward(_segment(states, (12, 8)))["vlm"].reshape(-1)
    # Upright: within 0.35 rad of vertical; the rest: more than 0.6 rad away (the band between, where
    # the fitted boundary lies, is left out).
    off = np.abs(np.angle(np.exp(1j * theta)))
    clear = (off < 0.35) | (off > 0.6)
    out, upright = out[clear], off[clear] < 0.35
    assert upright.sum() >= 5
    assert _auc(out, upright) > 0.95
    assert out[upright].mean() > out[~upright].mean()


# --- the host-reward contract on a real CartPole segment -----------------------------------------------


@pytest.fixture(scope="module")
def tiny_encoder(one_thread):
    return CLIPEncoder.from_config(tiny_config(), batch_size=8, seed=3)


def _cartpole_segment(num_steps=5, num_envs=3):
    """A few real CartPole steps through the task's own adapter, stacked to lead (num_steps, num_envs)."""
    env = registry.get("CartPole-v1").env
    _, state = jax.vmap(env.reset)(jax.random.split(jax.random.PRNGKey(0), num_envs))
    action = jax.numpy.arange(num_envs) % 2
    rows = []
    for t in range(num_steps):
        step = jax.vmap(env.step)(jax.random.split(jax.random.PRNGKey(t + 1), num_envs), state, action)
        rows.append((state, step))
        state = step.state

    def stack(xs):
        return jax.tree_util.tree_map(lambda *a: np.stack([np.asarray(v) for v in a]), *xs)

    return Segment(
        states=stack([s for s, _ in rows]),
        actions=np.stack([np.asarray(action)] * num_steps),
        next_states=stack([st.state for _, st in rows]),
        done=np.stack([np.asarray(st.terminated | st.truncated) for _, st in rows]),
        env_reward=np.stack([np.asarray(st.env_reward) for _, st in rows]),
    )


def test_vlm_reward_on_a_cartpole_segment_keeps_the_contract(tiny_encoder):
    segment = _cartpole_segment()
    source = vlm_reward(registry.get("CartPole-v1"), "a pole balanced upright on a cart", "a pole on a cart",
                        alpha=0.5, encoder=tiny_encoder, batch_size=4, component="vlm_upright")
    assert isinstance(source, HostReward)
    out = check_output(source, segment, source(segment))
    assert set(out) == {"vlm_upright"}
    assert out["vlm_upright"].shape == (5, 3) and out["vlm_upright"].dtype == np.float32
    assert np.all(np.isfinite(out["vlm_upright"]))
    # Step (t, e) is scored on the frame of next_states[t, e]: the flattening keeps the order.
    flat = jax.tree_util.tree_map(lambda a: a.reshape(15, *a.shape[2:]), segment.next_states)
    emb = tiny_encoder.encode_images(source.frames(flat))
    want = goal_baseline_reward(emb, source.goal, source.baseline, 0.5).reshape(5, 3)
    np.testing.assert_allclose(out["vlm_upright"], want, atol=1e-5)
    stats = source.stats()
    assert stats["frames_encoded"] == 15 and stats["calls"] == 1 and stats["defaults_used"] == 0
    assert stats["encode_seconds"] > 0


class _NaNEveryOther:
    """An encoder whose every other frame embeds to NaN (a broken model or a broken frame)."""

    def encode_texts(self, texts):
        out = np.zeros((len(texts), 4), np.float32)
        out[:, 0] = 1.0
        return out

    def encode_images(self, frames):
        out = np.tile(np.float32([0.0, 1.0, 0.0, 0.0]), (len(frames), 1))
        out[::2] = np.nan
        return out


def test_non_finite_embeddings_get_the_default_and_are_counted():
    source = VLMReward(render.pendulum, _NaNEveryOther(), GOAL, default=-1.0, batch_size=2)
    out = source(_segment(_pendulum_states(np.zeros(6)), (6,)))["vlm"]
    np.testing.assert_allclose(out, [-1.0, 0.0, -1.0, 0.0, -1.0, 0.0])
    assert source.stats()["defaults_used"] == 3


# --- loading from a directory, and the errors -----------------------------------------------------------


def test_from_directory_loads_a_saved_clip_offline(tmp_path, tiny_encoder):
    tiny_encoder.model.save_pretrained(tmp_path)
    tiny_encoder.tokenizer.save_pretrained(tmp_path)
    loaded = CLIPEncoder.from_directory(tmp_path, device="cpu")
    frames = np.asarray(jax.vmap(render.pendulum)(_pendulum_states([0.0, 2.0])))
    np.testing.assert_allclose(loaded.encode_images(frames), tiny_encoder.encode_images(frames), atol=1e-5)
    np.testing.assert_allclose(loaded.encode_texts([GOAL]), tiny_encoder.encode_texts([GOAL]), atol=1e-5)
    emb = loaded.encode_images(frames)
    np.testing.assert_allclose(np.linalg.norm(emb, axis=1), 1.0, atol=1e-5)


def test_bad_encoder_directories_fail_with_one_line(tmp_path):
    cases = {}
    cases["missing"] = tmp_path / "nope"
    (tmp_path / "empty").mkdir()
    cases["no config.json"] = tmp_path / "empty"
    (tmp_path / "bert").mkdir()
    (tmp_path / "bert" / "config.json").write_text(json.dumps({"model_type": "bert"}))
    cases["not a CLIP model"] = tmp_path / "bert"
    (tmp_path / "noweights").mkdir()
    tiny_config().to_json_file(tmp_path / "noweights" / "config.json")
    cases["cannot load the CLIP model"] = tmp_path / "noweights"
    for message, path in cases.items():
        with pytest.raises(EncoderError, match=message if message != "missing" else "does not exist") as err:
            CLIPEncoder.from_directory(path)
        assert "\n" not in str(err.value)
        assert isinstance(err.value, ValueError)


def test_factory_errors():
    with pytest.raises(ValueError, match="task Acrobot-v1 has no renderer"):
        vlm_reward(registry.get("Acrobot-v1"), GOAL, encoder=_NaNEveryOther())
    with pytest.raises(ValueError, match="exactly one of encoder_dir"):
        make_vlm_reward(render.pendulum, GOAL)
    with pytest.raises(ValueError, match="alpha"):
        VLMReward(render.pendulum, _NaNEveryOther(), GOAL, alpha=0.5)
    with pytest.raises(ValueError, match="alpha must be in"):
        VLMReward(render.pendulum, _NaNEveryOther(), GOAL, "x", alpha=1.5)
