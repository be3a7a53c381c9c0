"""Cooper's assistant-LLM negatives against a real OpenAI-compatible server: how many are usable.

    python -m llama_cpp.server --model qwen0.5b.gguf --host 127.0.0.1 --port 8093 &
    python benchmarks/cooper_llm_negatives.py --spec openai:local@http://127.0.0.1:8093/v1 --problems 16

For ``--problems`` held-out arithmetic problems (difficulty 2, seed 0) the canonical worked solution is the
verified positive; :class:`LLMNegatives` asks the server for a wrong rewrite, with up to ``--retries``
attempts each. Reported: usable rate per request (an accepted negative: the strict rule reads a final
answer that differs from the reference), acceptance rate per attempt, the share of accepted negatives
whose chain is well formed (every step ``a op b = r``, like the positives), how often the chain carries
the mistake consistently, wall time, and the replies themselves (``--json``).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from pathlib import Path

from rewardlab.cooper.llm_negatives import ONE_SHOT, LLMNegatives
from rewardlab.cooper.perturb import NegativeRequest
from rewardlab.cooper.problems import make_split

_STEP = re.compile(r"^(-?\d+)([+\-*])(-?\d+)=(-?\d+)$")


def shape(neg: str) -> dict[str, bool]:
    """Whether every step is ``a op b = r`` and whether each step's arithmetic is itself right."""
    parts = neg.split(";")
    steps = [_STEP.match(p) for p in parts[:-1]]
    well = bool(steps) and all(steps) and parts[-1].startswith("####")
    ops = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}
    arith = well and all(ops[m[2]](int(m[1]), int(m[3])) == int(m[4]) for m in steps)
    return {"well_formed": well, "steps_arith_ok": bool(arith)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", required=True, help="rewardlab.llm backend spec, e.g. openai:local@http://...")
    ap.add_argument("--problems", type=int, default=16)
    ap.add_argument("--retries", type=int, default=3)
    ap.add_argument(
        "--max-tokens", type=int, default=96, help="Reply budget (the recipe's words+500 is slow on CPU)."
    )
    ap.add_argument("--temperature", type=float, default=0.7)
    ap.add_argument("--one-shot", action="store_true", help="Prepend one worked example (ONE_SHOT).")
    ap.add_argument("--json", help="Write stats and every reply here.")
    args = ap.parse_args(argv)

    problems = make_split(10, args.problems, difficulty=2, seed=0).test
    requests = [NegativeRequest(p.prompt, p.solution(), p.reference) for p in problems]
    gen = LLMNegatives.from_spec(
        args.spec,
        temperature=args.temperature,
        retries=args.retries,
        max_tokens=args.max_tokens,
        shots=(ONE_SHOT,) if args.one_shot else (),
        concurrency=1,  # llama.cpp serves one request at a time; queued ones would time out
    )
    t0 = time.time()
    negs = gen.generate(requests)
    wall = time.time() - t0
    accepted = [n for n in negs if n is not None]
    shapes = [shape(n) for n in accepted]
    result = {
        "spec": args.spec,
        "one_shot": args.one_shot,
        "problems": len(requests),
        **gen.stats,
        "usable_per_request": len(accepted) / len(requests),
        "accept_per_attempt": gen.stats["accepted"] / max(1, gen.stats["attempts"]),
        "accepted_well_formed": sum(s["well_formed"] for s in shapes) / max(1, len(shapes)),
        "accepted_steps_arith_ok": sum(s["steps_arith_ok"] for s in shapes) / max(1, len(shapes)),
        "wall_seconds": wall,
        "seconds_per_attempt": wall / max(1, gen.stats["attempts"]),
    }
    print(json.dumps(result, indent=1))
    for r, n in zip(requests, negs, strict=True):
        print(f"{r.positive:32s} -> {n}")
    if args.json:
        Path(args.json).write_text(json.dumps({**result, "transcript": gen.transcript}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
