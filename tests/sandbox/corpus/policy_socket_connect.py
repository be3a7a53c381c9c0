# expect: policy
# message: socket
import socket


def compute_reward(state, action, next_state):
    s = socket.create_connection(("127.0.0.1", 9))
    s.send(b"hello")
    return 1.0, {}
