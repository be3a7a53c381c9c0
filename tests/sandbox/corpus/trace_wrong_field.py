# expect: trace
# message: state fields are
# message: line 5
def compute_reward(state, action, next_state):
    speed = next_state.velocity
    return -speed, {"speed": speed}
