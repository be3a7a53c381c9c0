# expect: policy
import subprocess


def compute_reward(state, action, next_state):
    subprocess.run(["touch", "/tmp/rewardlab_corpus_pwned"])
    return 1.0, {}
