"""Training engines: `ppo_jax` (JAX PPO batched over reward candidates x seeds)."""
