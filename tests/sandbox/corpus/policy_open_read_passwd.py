# expect: policy
SECRET = open("/etc/passwd").read()


def compute_reward(state, action, next_state):
    return float(len(SECRET)), {}
