"""Cooper (Hong et al. 2025, arXiv 2508.05613) at CPU scale: co-optimising a GRPO policy and a
reference-based reward model, against a rule reward and a frozen reward model.

Light to import: torch, transformers and TRL are imported inside the functions that need them.
"""

from rewardlab.cooper.config import ARMS, CooperConfig, make_config
from rewardlab.cooper.perturb import NegativeGenerator, NegativeRequest, Perturber, accept_negative
from rewardlab.cooper.problems import Problem, make_problem, make_split
from rewardlab.cooper.rm import RMExample, format_rm_input, pairwise_loss
from rewardlab.cooper.verify import hybrid_label, judge_verdict, oracle_correct, rule_reward, rule_verdict

__all__ = [
    "ARMS",
    "CooperConfig",
    "NegativeGenerator",
    "NegativeRequest",
    "Perturber",
    "Problem",
    "RMExample",
    "accept_negative",
    "format_rm_input",
    "hybrid_label",
    "judge_verdict",
    "make_config",
    "make_problem",
    "make_split",
    "oracle_correct",
    "pairwise_loss",
    "rule_reward",
    "rule_verdict",
]
