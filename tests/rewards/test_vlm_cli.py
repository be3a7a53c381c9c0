"""`rewardlab train TASK --reward human+vlm:GOAL --encoder DIR`: VLM-RM reaches a real training through the
CLI, with a tiny random CLIP saved to a folder the way a user's `save_pretrained` model would be; bad
input is one line with exit status 2, before anything trains."""

from __future__ import annotations

import json

import pytest

transformers = pytest.importorskip("transformers")

from rewardlab import cli  # noqa: E402
from rewardlab.rewards.clip_encoder import CLIPEncoder  # noqa: E402

from .test_vlm_reward import tiny_config  # noqa: E402

GOAL = "a pole balanced upright"


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("clip")
    encoder = CLIPEncoder.from_config(tiny_config())
    encoder.model.save_pretrained(folder)
    encoder.tokenizer.save_pretrained(folder)
    return folder


def test_a_training_gets_the_vlm_reward_next_to_the_human_one(clip_dir, tmp_path, capsys):
    out = tmp_path / "res.json"
    argv = [
        "train", "CartPole-v1", "--reward", f"human+vlm:{GOAL}", "--encoder", str(clip_dir),
        "--vlm-baseline", "a pole", "--vlm-alpha", "0.5", "--seeds", "1", "--steps", "1024",
        "--set", "n_checkpoints=2", "--no-progress", "--json", str(out),
    ]
    assert cli.main(argv) == 0, capsys.readouterr().err
    (res,) = json.loads(out.read_text())
    assert res["status"] == "ok"
    for cp in res["checkpoints"]:  # both rewards' components, per checkpoint, as for code rewards
        assert {"vlm", "alive"} <= set(cp["components"]), cp["components"]
        assert cp["components"]["vlm"]["min"] <= cp["components"]["vlm"]["max"] <= 1.0
    stats = res["extra"]["host_rewards"][f"vlm:{GOAL}"]
    assert stats["frames_encoded"] == 1024  # every training step's frame, once (no padded twin run)
    assert f"vlm:{GOAL}: 1,024 frames scored in 2 calls" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "task", "message"),
    [
        ([], "CartPole-v1", "name the model folder with --encoder DIR"),
        (["--encoder", "ENC"], "Acrobot-v1", "task Acrobot-v1 has no render"),
        (["--encoder", "ENC", "--vlm-alpha", "0.5"], "CartPole-v1", "give --vlm-baseline"),
        (["--encoder", "EMPTY"], "CartPole-v1", "holds no CLIP model"),
    ],
)
def test_bad_vlm_input_is_one_line_and_exit_2(extra, task, message, clip_dir, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    extra = [str(clip_dir) if e == "ENC" else str(tmp_path / "empty") if e == "EMPTY" else e for e in extra]
    code = cli.main(["train", task, "--reward", f"vlm:{GOAL}", *extra, "--steps", "1024", "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1, err
