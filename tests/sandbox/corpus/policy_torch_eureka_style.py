# expect: policy
# message: JAX project
from typing import Dict, Tuple

import torch


@torch.jit.script
def compute_reward(state, action, next_state) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
    reward = torch.cos(next_state.theta)
    return reward, {"upright": reward}
