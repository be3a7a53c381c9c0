# expect: policy
def compute_reward(state, action, next_state):
    code = compile("1 + 1", "<x>", "eval")
    return 1.0, {"c": code}
