# expect: policy
def compute_reward(state, action, next_state):
    exec("import os; os.system('touch /tmp/rewardlab_corpus_pwned')")
    return 1.0, {}
