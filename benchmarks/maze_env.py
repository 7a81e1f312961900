"""Benchmark: maze environment steps per second (dynamics + first-person render), vectorised.

Run: `python benchmarks/maze_env.py` (options: --envs, --steps, --repeats, --sizes, --casters).

For each maze size and ray-caster formulation, `envs` mazes (drawn from a pool) are stepped
`steps` times inside one jitted `lax.scan` over `jax.vmap(env.step)` with random actions drawn
beforehand; the observation is part of the scan carry, so every frame is computed and written.
Throughput = envs · steps / wall time, median over `repeats` timed calls after one warm-up.
Prints one JSON line.

Ray casters compared (both give the same images; tests/envs/test_maze.py checks the library one
against a slow reference):
  crossings  `adaptax.envs.maze.cast_rays`: all grid-line crossings ahead of the agent at once,
             walls packed in int32 bit rows (the library's default);
  dda        the textbook DDA: a `lax.fori_loop` stepping every ray from block to block,
             2·(2N − 1) iterations (enough to reach the border along both axes).
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

from adaptax.envs import Maze
from adaptax.envs.maze import (
    PILLAR_HALF_WIDTH,
    TARGET_SURFACE,
    RayHits,
    _pack,
    camera_rays,
    palette_index,
    render,
)


def pillar_keys(target, pos, rx, ry):
    """Packed hits with the target pillar's two faces turned towards each ray ([2, W])."""
    centre = 2.0 * target.astype(jnp.float32) + 1.5
    keys = []
    for axis, (rp, rq) in enumerate(((rx, ry), (ry, rx))):
        face = centre[axis] - PILLAR_HALF_WIDTH * jnp.sign(rp)
        depth = (face - pos[axis]) / jnp.where(rp == 0, 1.0, rp)
        across = jnp.abs(pos[1 - axis] + depth * rq - centre[1 - axis])
        hit = (rp != 0) & (depth > 0) & (across <= PILLAR_HALF_WIDTH)
        keys.append(_pack(jnp.where(hit, depth, jnp.inf), TARGET_SURFACE, axis == 0))
    return jnp.stack(keys)


def dda_cast(walls, target, pos, heading):
    """Textbook DDA (Amanatides & Woo 1987): a `fori_loop` moving every ray one block per step.

    The pillar test and the packing of the result are as in `cast_rays`, so only the wall
    traversal differs.
    """
    g = walls.shape[0]
    rx, ry = camera_rays(heading)
    x, y = pos[0], pos[1]
    bx0, by0 = jnp.floor(x), jnp.floor(y)
    step_x, step_y = jnp.where(rx > 0, 1, -1), jnp.where(ry > 0, 1, -1)
    delta_x = jnp.where(rx == 0, jnp.inf, 1.0 / jnp.abs(jnp.where(rx == 0, 1.0, rx)))
    delta_y = jnp.where(ry == 0, jnp.inf, 1.0 / jnp.abs(jnp.where(ry == 0, 1.0, ry)))
    next_x = jnp.where(rx > 0, bx0 + 1 - x, x - bx0) * delta_x
    next_y = jnp.where(ry > 0, by0 + 1 - y, y - by0) * delta_y
    width = rx.shape[0]
    carry = (
        jnp.full((width,), bx0.astype(jnp.int32)),
        jnp.full((width,), by0.astype(jnp.int32)),
        next_x,
        next_y,
        jnp.zeros((width,), jnp.float32),
        jnp.zeros((width,), bool),
        jnp.zeros((width,), bool),
    )

    def body(_, carry):
        bx, by, nx, ny, depth, x_face, done = carry
        go_x = nx < ny
        new_bx = jnp.where(go_x, bx + step_x, bx)
        new_by = jnp.where(go_x, by, by + step_y)
        new_depth = jnp.where(go_x, nx, ny)
        hit = walls[jnp.clip(new_bx, 0, g - 1), jnp.clip(new_by, 0, g - 1)]
        keep = done
        return (
            jnp.where(keep, bx, new_bx),
            jnp.where(keep, by, new_by),
            jnp.where(keep | ~go_x, nx, nx + delta_x),
            jnp.where(keep | go_x, ny, ny + delta_y),
            jnp.where(keep, depth, new_depth),
            jnp.where(keep, x_face, go_x),
            done | hit,
        )

    bx, by, _, _, depth, x_face, _ = jax.lax.fori_loop(0, 2 * (g - 2), body, carry)
    wall = _pack(depth, palette_index(bx, by), x_face)
    nearest = jnp.min(jnp.concatenate([wall[None], pillar_keys(target, pos, rx, ry)]), 0)
    code = nearest & 31
    depth = jax.lax.bitcast_convert_type(nearest - code, jnp.float32)
    return RayHits(depth, code >> 1, (code & 1) == 1)


class DDAMaze(Maze):
    """The same environment rendered with the loop DDA."""

    def get_obs(self, state, params):
        return render(params.walls, params.target, state.pos, state.heading, cast=dda_cast)


def bench(env: Maze, envs: int, steps: int, repeats: int) -> dict:
    pool = env.make_pool(jax.random.PRNGKey(0), 1000)
    keys = jax.random.split(jax.random.PRNGKey(1), envs)
    tasks = jax.jit(jax.vmap(env.sample_task_from_pool, in_axes=(0, None)))(keys, pool)
    obs, states = jax.jit(jax.vmap(env.reset))(keys, tasks)
    actions = jax.random.randint(jax.random.PRNGKey(2), (steps, envs), 0, 3)
    step = jax.vmap(env.step, in_axes=(None, 0, 0, 0))

    @jax.jit
    def run(states, obs, tasks, actions):
        def body(carry, action):
            states, obs, total = carry
            obs, states, reward, _, _ = step(jax.random.PRNGKey(0), states, action, tasks)
            return (states, obs, total + reward), None

        (states, obs, total), _ = jax.lax.scan(
            body, (states, obs, jnp.zeros((envs,), jnp.float32)), actions
        )
        return states, obs, total

    t = time.perf_counter()
    compiled = run.lower(states, obs, tasks, actions).compile()
    compile_s = time.perf_counter() - t
    jax.block_until_ready(compiled(states, obs, tasks, actions))  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(compiled(states, obs, tasks, actions))
        times.append(time.perf_counter() - t)
    rates = [envs * steps / s for s in times]
    return {
        "steps_per_s": float(np.median(rates)),
        "min": float(min(rates)),
        "max": float(max(rates)),
        "compile_s": round(compile_s, 2),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--envs", type=int, default=1024, help="vectorised mazes")
    p.add_argument("--steps", type=int, default=100, help="steps per timed scan")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--sizes", default="5,9", help="comma-separated maze sizes N")
    p.add_argument("--casters", default="crossings,dda", help="comma-separated: crossings, dda")
    args = p.parse_args()
    envs = {"crossings": Maze, "dda": DDAMaze}
    unknown = set(args.casters.split(",")) - set(envs)
    if unknown:
        p.error(f"--casters takes crossings and/or dda, not {', '.join(sorted(unknown))}")
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        for caster in args.casters.split(","):
            r = bench(envs[caster](size=size), args.envs, args.steps, args.repeats)
            results.append({"size": size, "caster": caster, **r})
    print(
        json.dumps(
            {
                "benchmark": "maze_env",
                "device": str(jax.devices()[0]),
                "jax": jax.__version__,
                "envs": args.envs,
                "steps": args.steps,
                "repeats": args.repeats,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
