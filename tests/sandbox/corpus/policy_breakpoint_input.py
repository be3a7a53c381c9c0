# expect: policy
def compute_reward(state, action, next_state):
    breakpoint()
    answer = input("reward? ")
    return 1.0, {}
