# expect: policy
# message: `open` is not allowed
def compute_reward(state, action, next_state):
    with open("/tmp/rewardlab_corpus_pwned", "w") as fh:
        fh.write("x")
    return 1.0, {}
