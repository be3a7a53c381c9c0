"""CI smoke: SFT, RM and a few GRPO steps of every arm through TRL on CPU, the report, resume and the CLI."""

import json
import os
import subprocess
import sys
import time

import pytest

pytest.importorskip("torch")
pytest.importorskip("trl")

from rewardlab.cooper.config import make_config
from rewardlab.cooper.experiment import run_experiment
from rewardlab.cooper.report import write_report


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    os.environ["HF_HUB_OFFLINE"] = "1"
    out = tmp_path_factory.mktemp("cooper") / "run"
    # the hacking preset's mechanisms (planted blind spot, on-policy negatives) ride along at no extra cost
    cfg = make_config("smoke", ["grpo_steps=3", "eval_every=2", "rm_blind_form=ans", "negatives=rollouts"])
    run_experiment(cfg, out)
    return cfg, out


def test_all_arms_ran(smoke_run):
    _cfg, out = smoke_run
    base = json.loads((out / "base.json").read_text())
    assert base["policy_params"] > 0 and base["rm_rows"] > 0 and 0.0 <= base["rm_val_acc"] <= 1.0
    for arm in ("rule", "static", "cooper"):
        res = json.loads((out / "arms" / f"{arm}_s0.json").read_text())
        assert [e["step"] for e in res["eval"]] == [0, 2, 3]
        assert len(res["steps"]) == 3  # one reward call per GRPO step
        assert len(res["trl"]) == 3 and all("kl" in t for t in res["trl"])
        assert res["seconds_per_step"] > 0
    cooper = json.loads((out / "arms" / "cooper_s0.json").read_text())
    assert all("valid_pair_rate" in r and "rm_bench_acc" in r for r in cooper["steps"])
    assert all("rm_wrong_accept_rate" in r and "frac_ans" in r for r in cooper["steps"])
    assert set(cooper["rm_bench_by_form"]) == {"start", "end"}
    assert set(cooper["negatives_stats"]) == {"from_rollouts", "from_fallback"}  # the smoke policy is at ~0 %
    assert "blind_wrong_accept_rate" in base and base["rm_blind_negatives"] >= 0


def test_reuse_base_copies_the_rm_only_when_the_base_matches(smoke_run, tmp_path):
    from rewardlab.cooper.experiment import reuse_base

    _cfg, out = smoke_run
    same = make_config("smoke", ["grpo_steps=3", "rm_blind_form=ans", "policy_lr=1e-4", "negatives=perturb"])
    assert reuse_base(out, tmp_path / "a", same) == "policy+rm"
    assert (tmp_path / "a" / "rm" / "config.json").exists() and (tmp_path / "a" / "base.json").exists()
    other = make_config("smoke", ["rm_epochs=2"])
    assert reuse_base(out, tmp_path / "b", other) == "policy"
    assert not (tmp_path / "b" / "rm").exists() and (tmp_path / "b" / "sft_from.json").exists()


def test_report_and_resume(smoke_run):
    cfg, out = smoke_run
    text = write_report(out, command="pytest smoke")
    assert "| cooper | 0 |" in text and (out / "curves.png").stat().st_size > 1000
    table = json.loads((out / "table.json").read_text())
    assert {r["arm"] for r in table["runs"]} == {"rule", "static", "cooper"}
    stamp = (out / "arms" / "rule_s0.json").stat().st_mtime
    t0 = time.time()
    run_experiment(cfg, out)  # everything is on disk: nothing is redone
    assert time.time() - t0 < 30
    assert (out / "arms" / "rule_s0.json").stat().st_mtime == stamp
    with pytest.raises(ValueError):
        run_experiment(make_config("smoke", ["grpo_steps=3", "eval_every=2", "rm_blind_form=ans"]), out)


def test_cli_report_subprocess(smoke_run, tmp_path):
    _, out = smoke_run
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "rewardlab.cooper.cli",
            "cooper",
            "report",
            "--run",
            str(out),
            "--dest",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "report.md").exists() and "hacking onset" in proc.stdout


def test_cli_wiring_is_lazy():
    code = (
        "import argparse, sys; from rewardlab.cooper.cli import add_cooper_command; "
        "p = argparse.ArgumentParser(); add_cooper_command(p.add_subparsers(dest='c')); "
        "a = p.parse_args(['cooper', 'run', '--out', 'x', '--preset', 'smoke', '--set', 'grpo_steps=2']); "
        "assert callable(a.func); print('torch' in sys.modules, 'transformers' in sys.modules)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False False"
