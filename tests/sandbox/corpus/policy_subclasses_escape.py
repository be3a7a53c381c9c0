# expect: policy
# message: dunder
def compute_reward(state, action, next_state):
    for cls in ().__class__.__base__.__subclasses__():
        if cls.__name__ == "Popen":
            cls(["touch", "/tmp/rewardlab_corpus_pwned"])
    return 1.0, {}
