# expect: signature
compute_reward = lambda state, action, next_state: (1.0, {})
