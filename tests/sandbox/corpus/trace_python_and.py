# expect: trace
# message: jnp.where
def compute_reward(state, action, next_state):
    centred = next_state.x > -0.5 and next_state.x < 0.5
    return 1.0 * centred, {}
