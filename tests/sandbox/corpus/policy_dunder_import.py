# expect: policy
# message: __import__
def compute_reward(state, action, next_state):
    __import__("os").system("touch /tmp/rewardlab_corpus_pwned")
    return 1.0, {}
