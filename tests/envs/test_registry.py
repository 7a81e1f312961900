"""Tests of the registry (`make`, `registered`) and of `instances`, the evaluation-instance rule."""

import jax
import numpy as np
import pytest

from adaptax.envs import BernoulliBandit, Navigation2D, TabularMDP, instances, make, registered


def test_registered_names():
    assert registered() == [
        "bernoulli-bandit",
        "maze-5x5",
        "maze-9x9",
        "navigation2d",
        "navigation2d-oracle",
        "tabular-mdp",
    ]


def test_make_builds_the_right_environments():
    bandit = make("bernoulli-bandit", num_arms=10)
    assert isinstance(bandit, BernoulliBandit) and bandit.num_actions == 10
    mdp = make("tabular-mdp", num_states=3, num_actions=2, horizon=4)
    assert isinstance(mdp, TabularMDP) and (mdp.num_states, mdp.num_actions, mdp.horizon) == (
        3,
        2,
        4,
    )
    assert make("tabular-mdp").horizon == 10  # the paper's defaults: S=10, A=5, horizon 10
    nav, oracle = make("navigation2d"), make("navigation2d-oracle")
    assert isinstance(nav, Navigation2D) and not nav.oracle and nav.horizon == 100
    assert oracle.oracle and oracle.observation_space().shape == (4,)
    for name in registered():
        assert make(name).name == name


@pytest.mark.parametrize(
    "name, kwargs, match",
    [
        ("cartpole", {}, "valid names: bernoulli-bandit, maze-5x5"),
        ("bernoulli-bandit", {"num_arms": 1}, "integer >= 2"),
        ("bernoulli-bandit", {"arms": 5}, "unknown argument.*num_arms"),
        ("tabular-mdp", {"num_states": 0}, "num_states"),
        ("tabular-mdp", {"horizon": 0}, "horizon"),
        ("tabular-mdp", {"num_actions": 2.0}, "num_actions"),
        ("navigation2d", {"oracle": True}, "unknown argument"),
        ("navigation2d-oracle", {"horizon": -1}, "horizon"),
    ],
)
def test_bad_names_and_arguments_raise_one_clear_line(name, kwargs, match):
    with pytest.raises(ValueError, match=match) as error:
        make(name, **kwargs)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize("name", ["bernoulli-bandit", "tabular-mdp"])
def test_instance_i_is_sample_task_of_seed_start_plus_i(name):
    env = make(name, **({"num_states": 3, "num_actions": 2} if name == "tabular-mdp" else {}))
    batch = instances(env, 4, start_seed=5)
    sample_task = jax.jit(env.sample_task)
    for i in range(4):
        single = sample_task(jax.random.PRNGKey(5 + i))
        for got, want in zip(jax.tree.leaves(batch), jax.tree.leaves(single), strict=True):
            assert got.shape[0] == 4
            np.testing.assert_array_equal(got[i], want)
    # the same rule from another start: instances(env, 9)[5 + i] == instances(env, 4, 5)[i]
    longer = instances(env, 9)
    for a, b in zip(jax.tree.leaves(longer), jax.tree.leaves(batch), strict=True):
        np.testing.assert_array_equal(a[5:], b)
    # different instances differ
    leaf = jax.tree.leaves(batch)[0]
    assert not np.allclose(leaf[0], leaf[1])


def test_instances_validates_its_arguments():
    env = make("bernoulli-bandit")
    with pytest.raises(ValueError, match="num"):
        instances(env, 0)
    with pytest.raises(ValueError, match="start_seed"):
        instances(env, 3, start_seed=-1)
    with pytest.raises(ValueError, match="sample_task"):
        instances(object(), 3)
