# expect: policy
def compute_reward(state, action, next_state):
    gen = (x for x in [1])
    frame = gen.gi_frame.f_back
    return 1.0, {}
