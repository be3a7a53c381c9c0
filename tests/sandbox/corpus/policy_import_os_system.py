# expect: policy
# message: importing `os`
import os


def compute_reward(state, action, next_state):
    os.system("touch /tmp/rewardlab_corpus_pwned")
    return 1.0, {}
