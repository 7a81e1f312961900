"""gymnax-API environments whose tasks are `EnvParams` values, the registry and the RL² trial.

Public API:
  Environment, EnvState, EnvParams      the base class and base dataclasses (gymnax API)
  Discrete, Box                         minimal jittable spaces
  BernoulliBandit, BanditParams, BanditState
  TabularMDP, MDPParams, MDPState
  Navigation2D, NavigationParams, NavigationState
  Maze, MazeParams, MazeState, MazePool      first-person random mazes (RL² visual navigation)
  Trial, TrialParams, TrialState, policy_input_size     the RL² trial wrapper
  make, registered, instances           registry and THE definition of evaluation instance i
"""

from adaptax.envs.bandits import BanditParams, BanditState, BernoulliBandit
from adaptax.envs.base import Environment, EnvParams, EnvState
from adaptax.envs.maze import Maze, MazeParams, MazePool, MazeState
from adaptax.envs.navigation2d import Navigation2D, NavigationParams, NavigationState
from adaptax.envs.registry import instances, make, registered
from adaptax.envs.spaces import Box, Discrete
from adaptax.envs.tabular_mdp import MDPParams, MDPState, TabularMDP
from adaptax.envs.wrappers import Trial, TrialParams, TrialState, policy_input_size

__all__ = [
    "BanditParams",
    "BanditState",
    "BernoulliBandit",
    "Box",
    "Discrete",
    "EnvParams",
    "EnvState",
    "Environment",
    "MDPParams",
    "MDPState",
    "Maze",
    "MazeParams",
    "MazePool",
    "MazeState",
    "Navigation2D",
    "NavigationParams",
    "NavigationState",
    "TabularMDP",
    "Trial",
    "TrialParams",
    "TrialState",
    "instances",
    "make",
    "policy_input_size",
    "registered",
]
