# Sparse reward for the XLand-MiniGrid tasks: the environment's own reward, paid only on success
# (1 - 0.9 * steps taken / step limit, so a faster success earns more) and 0 on every other step.


def compute_reward(state, action, next_state, env_reward):
    success = 1.0 * env_reward
    return success, {"success": success}
