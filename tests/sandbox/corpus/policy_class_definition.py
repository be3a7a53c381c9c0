# expect: policy
# message: class
class Helper:
    scale = 2.0


def compute_reward(state, action, next_state):
    return Helper.scale, {}
