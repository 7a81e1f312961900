"""Tests of the first-person maze: layouts are spanning trees, walls are never crossed, rendered
views match geometry worked by hand and a slow NumPy ray caster, rewards, termination, pools."""

import collections
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from adaptax.envs import Maze, MazeParams, MazePool, make
from adaptax.envs.maze import (
    AGENT_RADIUS,
    CEILING_RGB,
    FLOOR_RGB,
    PALETTE,
    TARGET_RGB,
    generate_layout,
    render,
)

# camera geometry, from the documented camera: 40 × 30 pixels, 60° horizontal field of view
W, H = 40, 30
F = 20.0 / math.tan(math.radians(30.0))  # focal length in pixels, 34.641


def _walls(picture):
    """Wall grid from a drawing: row r of the drawing is gy = r, column c is gx = c."""
    return jnp.asarray(np.array([[ch == "#" for ch in row] for row in picture]).T)


# 3 × 3 serpentine: cells (i, j) at blocks (2i + 1, 2j + 1); row j = 0 is the top line of cells
SNAKE = _walls(
    [
        "#######",
        "#.....#",
        "#####.#",
        "#.....#",
        "#.#####",
        "#.....#",
        "#######",
    ]
)
# the same, but block (4, 1) between cells (1, 0) and (2, 0) is a wall and (3, 2) is open
BLOCKED = _walls(
    [
        "#######",
        "#...#.#",
        "###.#.#",
        "#.....#",
        "#.#####",
        "#.....#",
        "#######",
    ]
)


def _shade(depth, x_face):
    return (1.0 if x_face else 0.7) / (1.0 + depth / 8.0)


def _wall_colour(gx, gy, depth, x_face):
    return PALETTE[(5 * gx + 3 * gy + gx * gy) % 8] * _shade(depth, x_face)


def _covered_rows(depth):
    """Rows r whose centre r + 1/2 projects onto a full-height object at this depth."""
    return [r for r in range(H) if abs(r + 0.5 - H / 2) < F / (2 * depth)]


def _is_red(pixels):
    pixels = np.asarray(pixels)
    r, g, b = pixels[..., 0], pixels[..., 1], pixels[..., 2]
    return (r > 0.1) & (r > 3 * g) & (r > 3 * b)


def _view(walls, target, pos, heading):
    image = render(
        walls, jnp.asarray(target, jnp.int32), jnp.asarray(pos, jnp.float32), jnp.float32(heading)
    )
    return np.asarray(image)


# ---------------------------------------------------------------- layouts


def _bfs(walls, start_block):
    """Open blocks reachable from `start_block` through open 4-neighbours (NumPy)."""
    seen, queue = {start_block}, collections.deque([start_block])
    while queue:
        gx, gy = queue.popleft()
        for dx, dy in ((1, 0), (-1, 0), (0, 1), (0, -1)):
            nxt = (gx + dx, gy + dy)
            if not walls[nxt] and nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


@pytest.mark.parametrize("size", [5, 9])
def test_every_layout_is_a_spanning_tree_and_every_cell_is_reachable(size):
    env = Maze(size=size)
    tasks = jax.jit(jax.vmap(env.sample_task))(jax.random.split(jax.random.PRNGKey(size), 200))
    walls = np.asarray(tasks.walls)
    g = 2 * size + 1
    assert walls.shape == (200, g, g) and walls.dtype == bool
    cells = {(2 * i + 1, 2 * j + 1) for i in range(size) for j in range(size)}
    for m in range(200):
        w = walls[m]
        # border and pillars (even, even) are walls, cells (odd, odd) are open
        assert w[0].all() and w[-1].all() and w[:, 0].all() and w[:, -1].all()
        assert w[::2, ::2].all() and not w[1::2, 1::2].any()
        passages = (~w[1::2, 2:-1:2]).sum() + (~w[2:-1:2, 1::2]).sum()
        assert passages == size * size - 1  # a spanning tree has N² − 1 edges
        start = tuple(2 * np.asarray(tasks.start[m]) + 1)
        target = tuple(2 * np.asarray(tasks.target[m]) + 1)
        assert start != target and start in cells and target in cells
        reached = _bfs(w, start)
        assert cells <= reached and target in reached
        # N² cells + N² − 1 passages, all connected: nothing else is open
        assert len(reached) == int((~w).sum()) == 2 * size * size - 1
        heading = float(tasks.heading[m]) / (math.pi / 4)
        assert abs(heading - round(heading)) < 1e-5 and 0 <= round(heading) < 8
    # layouts, starts and targets vary across keys, and targets cover many cells
    assert len({walls[m].tobytes() for m in range(200)}) == 200
    assert len({tuple(np.asarray(t)) for t in tasks.target}) > size * size // 2


def test_layout_generation_is_deterministic_and_jits():
    key = jax.random.PRNGKey(7)
    eager = generate_layout(key, 5)
    jitted = jax.jit(generate_layout, static_argnums=1)(key, 5)
    np.testing.assert_array_equal(eager, jitted)
    assert not np.array_equal(eager, generate_layout(jax.random.PRNGKey(8), 5))


def test_default_params_is_the_serpentine():
    task = Maze(size=3).default_params
    np.testing.assert_array_equal(task.walls, SNAKE)
    np.testing.assert_array_equal(task.start, [0, 0])
    np.testing.assert_array_equal(task.target, [2, 2])  # the far end of the snake for N = 3


# ---------------------------------------------------------------- pools


def test_pool_tasks_come_from_the_pool_and_the_pool_is_an_argument():
    env = Maze(size=5)
    pool = env.make_pool(jax.random.PRNGKey(0), 16)
    assert isinstance(pool, MazePool) and pool.walls.shape == (16, 11, 11)
    sample = jax.jit(jax.vmap(env.sample_task_from_pool, in_axes=(0, None)))
    tasks = sample(jax.random.split(jax.random.PRNGKey(1), 64), pool)
    flat = np.asarray(pool.walls).reshape(16, -1)
    chosen = [
        int(np.flatnonzero((flat == w.reshape(-1)).all(axis=1))[0]) for w in np.asarray(tasks.walls)
    ]
    assert len(set(chosen)) >= 10  # 64 uniform draws from 16 layouts cover most of them
    assert np.any(np.asarray(tasks.start) != np.asarray(tasks.target), axis=1).all()
    # a second pool of the same shape reuses the compiled function: the pool is not a constant
    other = env.make_pool(jax.random.PRNGKey(2), 16)
    more = sample(jax.random.split(jax.random.PRNGKey(1), 64), other)
    assert sample._cache_size() == 1
    other_flat = np.asarray(other.walls).reshape(16, -1)
    for w in np.asarray(more.walls):
        assert (other_flat == w.reshape(-1)).all(axis=1).any()
    with pytest.raises(ValueError, match="num_layouts"):
        env.make_pool(jax.random.PRNGKey(0), 0)


# ---------------------------------------------------------------- movement


def _rollout_positions(size, num_envs, steps, seed):
    env = Maze(size=size, horizon=10_000)
    keys = jax.random.split(jax.random.PRNGKey(seed), num_envs)
    tasks = jax.vmap(env.sample_task)(keys)
    # mostly forward, so the agent travels and bumps a lot
    actions = jax.random.choice(
        jax.random.PRNGKey(seed + 1), 3, (steps, num_envs), p=jnp.array([0.7, 0.15, 0.15])
    )

    def one(task, acts):
        _, state = env.reset_env(jax.random.PRNGKey(0), task)

        def body(state, a):
            next_state, reward, _, info = env._transition(state, a, task)
            return next_state, (next_state.pos, info["wall_hit"])

        _, (pos, hits) = jax.lax.scan(body, state, acts)
        return jnp.concatenate([state.pos[None], pos]), hits

    pos, hits = jax.jit(jax.vmap(one, in_axes=(0, 1)))(tasks, actions)
    return np.asarray(tasks.walls), np.asarray(pos, np.float64), np.asarray(hits)


@pytest.mark.parametrize("size", [5, 9])
def test_the_agent_never_enters_or_crosses_a_wall(size):
    walls, pos, hits = _rollout_positions(size, num_envs=128, steps=400, seed=size)
    assert hits.mean() > 0.05  # plenty of bumps into walls
    visited = []
    for m in range(walls.shape[0]):
        w, p = walls[m], pos[m]
        blocks = np.floor(p).astype(int)
        # the body (a square of half-width 0.2) never overlaps a wall block
        for dx in (-1, 1):
            for dy in (-1, 1):
                corner = np.floor(p + (AGENT_RADIUS - 1e-6) * np.array([dx, dy])).astype(int)
                assert not w[corner[:, 0], corner[:, 1]].any()
        # consecutive blocks are equal or 4-neighbours (never a diagonal jump)
        jumps = np.abs(np.diff(blocks, axis=0)).sum(axis=1)
        assert (jumps <= 1).all()
        # and no point of the straight path between consecutive positions is inside a wall
        for s in np.linspace(0.0, 1.0, 11):
            between = np.floor(p[:-1] + s * (p[1:] - p[:-1])).astype(int)
            assert not w[between[:, 0], between[:, 1]].any()
        visited.append(len({tuple(b) for b in blocks}))
    # the agents really travel: most visit several cells, some a good part of the maze
    assert np.median(visited) >= 6 and max(visited) >= 15


def test_forward_turns_and_wall_bumps_by_hand():
    env = Maze(size=3)
    task = MazeParams(
        walls=SNAKE, start=jnp.array([0, 0]), heading=jnp.float32(0.0), target=jnp.array([2, 2])
    )
    _, state = env.reset(jax.random.PRNGKey(0), task)
    np.testing.assert_allclose(state.pos, [1.5, 1.5])
    step = jax.jit(env.step)
    key = jax.random.PRNGKey(0)
    # facing +x along the open top corridor: one step moves 0.5 blocks, no bump
    _, state, reward, done, info = step(key, state, 0, task)
    np.testing.assert_allclose(state.pos, [2.0, 1.5], atol=1e-6)
    assert float(reward) == pytest.approx(-0.04) and not bool(info["wall_hit"]) and not done
    # turn left (+45°) twice: facing +y, where block (2, 2) is a wall right next to the agent
    _, state, *_ = step(key, state, 1, task)
    assert float(state.heading) == pytest.approx(math.pi / 4)
    _, state, *_ = step(key, state, 1, task)
    assert float(state.heading) == pytest.approx(math.pi / 2)
    _, state, reward, done, info = step(key, state, 0, task)
    # the body would reach y = 2.0 + 0.2 > 2, inside wall row gy = 2: no move, −0.04 − 0.001
    np.testing.assert_allclose(state.pos, [2.0, 1.5], atol=1e-6)
    assert float(reward) == pytest.approx(-0.041) and bool(info["wall_hit"])
    # right turn from 90° gives 45°; right from 0° wraps to 315°
    _, state, *_ = step(key, state, 2, task)
    assert float(state.heading) == pytest.approx(math.pi / 4)
    _, state, *_ = step(key, state, 2, task)
    _, state, *_ = step(key, state, 2, task)
    assert float(state.heading) == pytest.approx(7 * math.pi / 4, abs=1e-5)
    # facing 315° from (2.0, 1.5): the step to (2.354, 1.146) sweeps y down to 0.946 < 1: bump
    _, state, reward, _, info = step(key, state, 0, task)
    np.testing.assert_allclose(state.pos, [2.0, 1.5], atol=1e-6)
    assert bool(info["wall_hit"])
    # an out-of-range action is clipped (5 -> 2, a right turn)
    _, state, *_ = step(key, state, 5, task)
    assert float(state.heading) == pytest.approx(3 * math.pi / 2, abs=1e-5)


# ---------------------------------------------------------------- rewards and termination


def test_reaching_the_target_pays_one_and_ends_the_episode():
    env = Maze(size=3)
    # start in cell (1, 0) = block (3, 1) facing +x; target cell (2, 0) = block (5, 1)
    task = MazeParams(
        walls=SNAKE, start=jnp.array([1, 0]), heading=jnp.float32(0.0), target=jnp.array([2, 0])
    )
    _, state = env.reset(jax.random.PRNGKey(0), task)
    step = jax.jit(env.step)
    rewards, dones = [], []
    for _ in range(3):  # x: 3.5 -> 4.0 -> 4.5 -> 5.0, and x = 5.0 is inside block 5
        _, state, reward, done, _ = step(jax.random.PRNGKey(1), state, 0, task)
        rewards.append(float(reward))
        dones.append(bool(done))
    np.testing.assert_allclose(rewards, [-0.04, -0.04, 1.0 - 0.04], rtol=1e-6)
    assert dones == [False, False, True]
    # auto-reset: back at the start cell's centre, facing the start heading, time 0
    np.testing.assert_allclose(state.pos, [3.5, 1.5])
    assert int(state.time) == 0 and float(state.heading) == 0.0
    # without the auto-reset the terminal state is in the target block and is terminal
    _, raw = env.reset(jax.random.PRNGKey(0), task)
    for _ in range(3):
        _, raw, *_ = env.step_env(jax.random.PRNGKey(1), raw, 0, task)
    np.testing.assert_allclose(raw.pos, [5.0, 1.5], atol=1e-6)
    assert bool(env.is_terminal(raw, task))


def test_the_horizon_ends_the_episode():
    env = Maze(size=3, horizon=5)
    task = env.default_params
    _, state0 = env.reset(jax.random.PRNGKey(0), task)

    def body(state, key):
        _, state, reward, done, _ = env.step(key, state, 1, task)  # turning never arrives
        return state, (reward, done)

    _, (rewards, dones) = jax.lax.scan(body, state0, jax.random.split(jax.random.PRNGKey(1), 12))
    np.testing.assert_array_equal(np.flatnonzero(np.asarray(dones)), [4, 9])
    np.testing.assert_allclose(rewards, -0.04, rtol=1e-6)
    assert Maze(size=5).horizon == 250  # the paper's horizon


# ---------------------------------------------------------------- rendering, worked by hand


def test_view_of_a_wall_ahead_at_known_distance():
    # agent at (1.5, 5.5) facing −y: blocks (1, 4) and (1, 3) are open, (1, 2) is a wall whose
    # face y = 3 is at depth 2.5. It covers rows |r + 1/2 − 15| < F/5 = 6.93, i.e. r = 8 … 21,
    # over the columns whose ray stays within x ∈ [1, 2]: lateral |u|·2.5 < 0.5, |u| < 0.2,
    # i.e. |c + 1/2 − 20| < 0.2·F = 6.93, c = 13 … 26.
    image = _view(SNAKE, [2, 0], [1.5, 5.5], 3 * math.pi / 2)
    rows = _covered_rows(2.5)
    assert rows == list(range(8, 22))
    colour = _wall_colour(1, 2, 2.5, x_face=False)  # the face y = 3 is perpendicular to y
    for c in range(13, 27):
        np.testing.assert_allclose(image[rows, c], np.broadcast_to(colour, (14, 3)), atol=1e-5)
        np.testing.assert_allclose(image[: rows[0], c], np.broadcast_to(CEILING_RGB, (8, 3)))
        np.testing.assert_allclose(image[rows[-1] + 1 :, c], np.broadcast_to(FLOOR_RGB, (8, 3)))
    # column 0 looks left of the view (left of −y is +x) with u = 19.5/F = 0.563: it meets the
    # side wall x = 2 of block (2, 4) at depth 0.5/u = 0.888 < 1, so the whole column is wall,
    # lit as an x-face (brighter than the y-face ahead)
    depth0 = 0.5 / (19.5 / F)
    assert _covered_rows(depth0) == list(range(H))
    np.testing.assert_allclose(
        image[:, 0], np.broadcast_to(_wall_colour(2, 4, depth0, True), (H, 3)), atol=1e-5
    )
    assert not _is_red(image).any()


def test_target_pillar_in_view_down_a_corridor():
    # agent at (1.5, 1.5) facing +x down the open top corridor; target cell (2, 0): its pillar is
    # the square (5.5, 1.5) ± 0.25 whose near face x = 5.25 is at depth 3.75. It spans columns
    # |c + 1/2 − 20| < F·0.25/3.75 = 2.31 (c = 18 … 21) and rows |r + 1/2 − 15| < F/7.5 = 4.62
    # (r = 10 … 19).
    image = _view(SNAKE, [2, 0], [1.5, 1.5], 0.0)
    red = _is_red(image)
    assert sorted(set(np.flatnonzero(red.any(axis=0)))) == [18, 19, 20, 21]
    assert sorted(set(np.flatnonzero(red.any(axis=1)))) == list(range(10, 20))
    pillar = TARGET_RGB * _shade(3.75, x_face=True)
    for c in range(18, 22):
        np.testing.assert_allclose(image[10:20, c], np.broadcast_to(pillar, (10, 3)), atol=1e-5)
    # just beside the pillar (c = 17, u = 2.5/F = 0.072: lateral 0.27 at depth 3.75) the ray
    # goes on to the border wall x = 6 at depth 4.5: rows |r + 1/2 − 15| < F/9 = 3.85, r = 11 … 18
    assert _covered_rows(4.5) == list(range(11, 19))
    np.testing.assert_allclose(
        image[11:19, 17], np.broadcast_to(_wall_colour(6, 1, 4.5, True), (8, 3)), atol=1e-5
    )
    np.testing.assert_allclose(image[10, 17], CEILING_RGB)


def test_target_behind_a_wall_is_hidden():
    # same pose and target as above, but block (4, 1) is a wall: its face x = 4 at depth 2.5
    # covers the columns where the pillar would be; no pixel may be red
    image = _view(BLOCKED, [2, 0], [1.5, 1.5], 0.0)
    assert not _is_red(image).any()
    rows = _covered_rows(2.5)
    for c in range(13, 27):
        np.testing.assert_allclose(
            image[rows, c], np.broadcast_to(_wall_colour(4, 1, 2.5, True), (14, 3)), atol=1e-5
        )
    # and the target is visible again once the agent looks from where nothing is in between:
    # from (5.5, 3.5) facing −y the pillar's near face y = 1.75 is at depth 1.75
    image = _view(BLOCKED, [2, 0], [5.5, 3.5], 3 * math.pi / 2)
    red = _is_red(image)
    # columns |c + 1/2 − 20| < F·0.25/1.75 = 4.95 (c = 15 … 24), rows < F/3.5 = 9.90 (r = 5 … 24)
    assert sorted(set(np.flatnonzero(red.any(axis=0)))) == list(range(15, 25))
    assert sorted(set(np.flatnonzero(red.any(axis=1)))) == list(range(5, 25))
    np.testing.assert_allclose(image[15, 20], TARGET_RGB * _shade(1.75, x_face=False), atol=1e-5)


# ---------------------------------------------------------------- rendering vs a slow reference


def _reference_render(walls, target, pos, heading):
    """A slow, obvious renderer in float64: step-by-step DDA per column, pillar by its 4 faces."""
    walls = np.asarray(walls)
    x, y = pos
    d = np.array([math.cos(heading), math.sin(heading)])
    left = np.array([-d[1], d[0]])
    centre = 2.0 * np.asarray(target, np.float64) + 1.5
    image = np.empty((H, W, 3))
    for c in range(W):
        r = d + (W / 2 - (c + 0.5)) / F * left
        bx, by = int(math.floor(x)), int(math.floor(y))
        sx, sy = (1 if r[0] > 0 else -1), (1 if r[1] > 0 else -1)
        next_x = ((bx + 1 - x) / r[0] if r[0] > 0 else (x - bx) / -r[0]) if r[0] else math.inf
        next_y = ((by + 1 - y) / r[1] if r[1] > 0 else (y - by) / -r[1]) if r[1] else math.inf
        while True:  # walk block by block until a wall
            if next_x < next_y:
                bx, depth, x_face = bx + sx, next_x, True
                next_x += 1 / abs(r[0])
            else:
                by, depth, x_face = by + sy, next_y, False
                next_y += 1 / abs(r[1])
            if walls[bx, by]:
                break
        colour = PALETTE[(5 * bx + 3 * by + bx * by) % 8]
        best = math.inf
        for axis in (0, 1):  # the pillar's four faces, each a segment of length 0.5
            for side in (-0.25, 0.25):
                if r[axis] == 0:
                    continue
                t = (centre[axis] + side - pos[axis]) / r[axis]
                other = pos[1 - axis] + t * r[1 - axis]
                if 0 < t < best and abs(other - centre[1 - axis]) <= 0.25:
                    best, best_x_face = t, axis == 0
        if best < depth:
            depth, x_face, colour = best, best_x_face, TARGET_RGB
        shaded = colour * _shade(depth, x_face)
        for row in range(H):
            if abs(row + 0.5 - H / 2) < F / (2 * depth):
                image[row, c] = shaded
            else:
                image[row, c] = CEILING_RGB if row < H / 2 else FLOOR_RGB
    return image


@pytest.mark.parametrize("size", [5, 9])
def test_render_agrees_with_a_slow_reference(size):
    env = Maze(size=size)
    rng = np.random.default_rng(size)
    tasks = jax.vmap(env.sample_task)(jax.random.split(jax.random.PRNGKey(3), 12))
    # poses: a cell's centre ± 0.3 (inside the open cell block), any heading; for odd m the cell
    # next to the target, looking roughly at it, so that the pillar is often in view
    cells = rng.integers(0, size, (12, 2))
    heading = rng.uniform(0, 2 * math.pi, 12)
    target = np.asarray(tasks.target)
    for m in range(1, 12, 2):
        steps = [
            s
            for s in [(1, 0), (-1, 0), (0, 1), (0, -1)]
            if 0 <= target[m][0] + s[0] < size and 0 <= target[m][1] + s[1] < size
        ]
        cells[m] = target[m] + steps[rng.integers(len(steps))]
        to_target = target[m] - cells[m]
        heading[m] = math.atan2(to_target[1], to_target[0]) + rng.uniform(-0.3, 0.3)
    pos = 2.0 * cells + 1.5 + rng.uniform(-0.3, 0.3, (12, 2))
    images = np.asarray(
        jax.jit(jax.vmap(render))(
            tasks.walls,
            tasks.target,
            jnp.asarray(pos, jnp.float32),
            jnp.asarray(heading, jnp.float32),
        )
    )
    mismatched, red_frames = 0, 0
    for m in range(12):
        want = _reference_render(tasks.walls[m], tasks.target[m], pos[m], heading[m])
        bad = np.abs(images[m] - want).max(axis=-1) > 1e-4
        mismatched += bad.sum()
        red_frames += _is_red(want).any()
    # float32 vs float64 may flip a pixel exactly on an edge; nothing more
    assert mismatched <= 0.001 * images[..., 0].size
    assert red_frames >= 2  # the target pillar was part of the comparison


def test_reference_agreement_includes_the_target():
    # positions in the target cell's row looking at it, so the pillar check is exercised
    env = Maze(size=5)
    task = env.default_params  # serpentine: the top corridor is open, target at cell (4, 4)
    for pos, heading in [([7.5, 9.5], 0.1), ([1.5, 9.5], -0.05), ([3.2, 9.3], 0.0)]:
        want = _reference_render(task.walls, task.target, np.asarray(pos, np.float64), heading)
        got = _view(task.walls, task.target, pos, heading)
        assert _is_red(want).any()
        assert (np.abs(got - want).max(axis=-1) > 1e-4).sum() <= 3


# ---------------------------------------------------------------- jit, vmap, registry


def test_jit_and_no_jit_agree_and_vmap_does_not_recompile():
    env = Maze(size=5)
    task = env.sample_task(jax.random.PRNGKey(0))
    _, state = env.reset(jax.random.PRNGKey(0), task)
    eager_state, jit_state = state, state
    step_env = jax.jit(env.step_env)
    for a in [0, 0, 1, 0, 2, 2, 0, 0]:
        obs_e, eager_state, r_e, d_e, _ = env.step_env(jax.random.PRNGKey(0), eager_state, a, task)
        obs_j, jit_state, r_j, d_j, _ = step_env(jax.random.PRNGKey(0), jit_state, a, task)
        np.testing.assert_allclose(obs_e, obs_j, atol=1e-6)
        np.testing.assert_allclose(eager_state.pos, jit_state.pos, atol=1e-6)
        assert float(r_e) == pytest.approx(float(r_j)) and bool(d_e) == bool(d_j)
    # a batch of tasks through jit(vmap(step)); a second batch reuses the compilation
    step = jax.jit(jax.vmap(env.step))
    for seed in (1, 2):
        tasks = jax.vmap(env.sample_task)(jax.random.split(jax.random.PRNGKey(seed), 6))
        obs, states = jax.vmap(env.reset)(jax.random.split(jax.random.PRNGKey(0), 6), tasks)
        obs2, states2, reward, done, _ = step(
            jax.random.split(jax.random.PRNGKey(0), 6), states, jnp.zeros(6, jnp.int32), tasks
        )
        assert obs2.shape == (6, H, W, 3) and reward.shape == (6,) and done.dtype == jnp.bool_
        # each batch entry equals the unbatched step (vmap changes nothing)
        single = env.step(
            jax.random.PRNGKey(0),
            jax.tree.map(lambda v: v[3], states),
            0,
            jax.tree.map(lambda v: v[3], tasks),
        )
        np.testing.assert_allclose(obs2[3], single[0], atol=1e-6)
        np.testing.assert_allclose(reward[3], single[2])
    assert step._cache_size() == 1


def test_step_equals_step_env_then_reset():
    """The single-render `step` returns what the base class's render-both-then-select would."""
    env = Maze(size=3)
    task = MazeParams(
        walls=SNAKE, start=jnp.array([1, 0]), heading=jnp.float32(0.0), target=jnp.array([2, 0])
    )
    _, state = env.reset(jax.random.PRNGKey(0), task)
    for _ in range(3):  # the third step reaches the target
        key = jax.random.PRNGKey(5)
        obs_st, state_st, reward_st, done_st, _ = env.step_env(key, state, 0, task)
        obs_re, state_re = env.reset_env(key, task)
        obs, state, reward, done, _ = env.step(key, state, 0, task)
        np.testing.assert_allclose(obs, obs_re if done_st else obs_st)
        np.testing.assert_allclose(state.pos, (state_re if done_st else state_st).pos)
        assert float(reward) == float(reward_st) and bool(done) == bool(done_st)
    assert bool(done)


def test_spaces_registry_and_arguments():
    for name, size in [("maze-5x5", 5), ("maze-9x9", 9)]:
        env = make(name)
        assert isinstance(env, Maze) and env.size == size and env.name == name
        assert env.horizon == 250 and env.num_actions == 3
    assert make("maze-5x5", horizon=10).horizon == 10
    env = Maze(size=5)
    space = env.observation_space()
    assert space.shape == (30, 40, 3) and space.dtype == jnp.float32
    obs, _ = env.reset(jax.random.PRNGKey(0), env.sample_task(jax.random.PRNGKey(0)))
    assert bool(space.contains(obs))
    assert env.action_space().n == 3
    for bad in [{"size": 1}, {"size": 16}, {"size": 5.0}, {"horizon": 0}]:
        with pytest.raises(ValueError) as error:
            Maze(**bad)
        assert "\n" not in str(error.value)
