# expect: non_finite
def compute_reward(state, action, next_state):
    big = 1e400
    return big * 1.0, {"big": big}
