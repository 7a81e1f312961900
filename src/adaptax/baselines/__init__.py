"""Classical agents RL² is measured against: bandits (Gittins, TS, OTS, UCB1, ε-greedy, greedy,
random, exact Bayes-optimal DP) and tabular MDPs (PSRL, OPSRL, UCRL2, BEB, ε-greedy, greedy,
random), vectorised over instances with common random numbers."""
