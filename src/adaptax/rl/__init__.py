"""RL building blocks as pure functions, shared by RL² and MAML-RL.

returns (discounted returns, GAE) · losses (surrogates, log-probs, KLs) · trpo (conjugate
gradient, Fisher-vector products, line search, `trpo_step`) · ppo (`ppo_loss`) · rollout.
"""
