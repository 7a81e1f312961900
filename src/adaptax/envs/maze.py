"""First-person random mazes with a hidden target (RL² visual navigation, Duan et al. 2017, §4.3).

Geometry. An N × N maze lives on a (2N + 1) × (2N + 1) grid of unit *blocks*; block (gx, gy) is the
square [gx, gx + 1) × [gy, gy + 1) of the plane and `walls[gx, gy]` says whether it is solid. Cell
(i, j) of the maze is block (2i + 1, 2j + 1) (always open); a block with one odd and one even
coordinate is the passage between its two neighbouring cells (open or wall); blocks with two even
coordinates (pillars) and the border are always walls. A layout is a spanning tree of the N × N cell
grid, so it has exactly N² − 1 open passages and every cell is reachable from every other.

Agent. A point (x, y) in the plane with heading θ (radians, counter-clockwise from +x), surrounded
by a square body of half-width ρ = 0.2. Actions: 0 forward by s = 0.5 blocks (a quarter of the
cell-to-cell distance of 2 blocks), 1 turn left by 45°, 2 turn right by 45°. A forward step is taken
only if the whole region swept by the body,

    [min(x, x') − ρ, max(x, x') + ρ] × [min(y, y') − ρ, max(y, y') + ρ],
    (x', y') = (x, y) + s·(cos θ, sin θ),

touches no wall block; otherwise the agent stays put and pays the wall-hit penalty. The agent can
thus never enter or cross a wall, and is always at least ρ from every wall. With s = 0.5 and ρ = 0.2
the swept box is at most 0.9 blocks wide, so four block look-ups decide a step; and any position
along a corridor has a stopping point with fractional coordinate in [0.25, 0.75], so every side
passage can be entered (ρ ≤ 0.25 is what makes this so). A diagonal step (heading an odd multiple
of 45°) from a cell centre always sweeps a corner pillar, so in these one-block corridors diagonal
headings mostly serve to look around. Starting at a cell centre with a heading that is a multiple
of 45°, one cell-to-cell move costs 4 forward steps and a 90° corner 2 turns: a shortest route
between two random cells of a 5 × 5 maze then takes ≈ 39 steps on average (our estimate: 14.4
blocks / 0.5 + 2 turns per corner + ~2 to face the first corridor), close to the paper's
episode-2 length on small mazes (39.1 steps, RL² §4.3).

Rewards (RL² §4.3): −0.04 every step, −0.001 more for a forward step into a wall, +1 on entering the
target cell, which ends the episode; at most `horizon` = 250 steps.

Observation: a 40 × 30 (width × height) RGB image, float32 in [0, 1], shape (30, 40, 3), rendered
by ray casting with one ray per column (see `render`): walls coloured by block (8 colours, no red)
and shaded by face orientation and distance, a red full-height pillar of half-width 0.25 at the
centre of the target cell (visible only where a ray meets it before any wall), a constant ceiling
and floor.

The paper rendered its mazes with ViZDoom; this is a self-contained JAX stand-in with the same
actions, rewards, horizon and image size.

Reference: Duan et al., "RL²: Fast reinforcement learning via slow reinforcement learning",
arXiv:1611.02779, §4.3 (visual navigation); ray casting by a digital differential analyser over a
grid as in Amanatides & Woo, "A fast voxel traversal algorithm for ray tracing" (1987).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from adaptax._checks import require_int
from adaptax.envs.base import Environment, EnvParams, EnvState, tree_select
from adaptax.envs.spaces import Box, Discrete
from adaptax.types import Array, PRNGKey

# --- dynamics and rewards (RL² §4.3 for the rewards and the horizon) ---
STEP_LENGTH = 0.5  # blocks per forward step (a cell-to-cell move is 2 blocks)
TURN_ANGLE = math.pi / 4  # 45° per turn action
AGENT_RADIUS = 0.2  # half-width of the agent's square body, in blocks (must stay <= 0.25)
TARGET_REWARD = 1.0
STEP_PENALTY = 0.04
WALL_PENALTY = 0.001
HORIZON = 250
TRAIN_POOL_SIZE = 1000  # RL² trains on a fixed set of 1000 layouts and tests on fresh ones
FORWARD, LEFT, RIGHT = 0, 1, 2

# --- camera and colours ---
WIDTH, HEIGHT = 40, 30  # pixels (RL² §4.3: 40 × 30 RGB)
FIELD_OF_VIEW = math.radians(60.0)  # horizontal
FOCAL = (WIDTH / 2) / math.tan(FIELD_OF_VIEW / 2)  # focal length in pixels, ≈ 34.64
PILLAR_HALF_WIDTH = 0.25  # the target pillar is the square cell centre ± 0.25
Y_FACE_SHADE = 0.7  # faces perpendicular to y are darker than faces perpendicular to x (1.0)
FOG_DISTANCE = 8.0  # brightness ∝ 1 / (1 + distance / 8)
PALETTE = np.array(
    [
        [0.60, 0.60, 0.60],  # grey
        [0.25, 0.45, 0.85],  # blue
        [0.30, 0.70, 0.35],  # green
        [0.85, 0.80, 0.30],  # yellow
        [0.60, 0.45, 0.80],  # purple
        [0.25, 0.70, 0.70],  # teal
        [0.75, 0.65, 0.50],  # tan
        [0.50, 0.55, 0.25],  # olive
    ],
    np.float32,
)  # wall colours; none is red-dominated, so red means "target"
TARGET_RGB = np.array([1.0, 0.1, 0.1], np.float32)
CEILING_RGB = np.array([0.55, 0.60, 0.70], np.float32)
FLOOR_RGB = np.array([0.35, 0.30, 0.25], np.float32)

_MAX_SIZE = 15  # the ray caster packs a row of 2N + 1 blocks into the bits of an int32
_NEIGHBOURS = np.array([[1, 0], [-1, 0], [0, 1], [0, -1]], np.int32)


def palette_index(gx: Array, gy: Array) -> Array:
    """The colour of wall block (gx, gy): PALETTE[(5·gx + 3·gy + gx·gy) mod 8].

    A fixed function of the block's coordinates, so the same wall always looks the same and
    neighbouring walls mostly differ (landmarks for the agent).
    """
    return (5 * gx + 3 * gy + gx * gy) % len(PALETTE)


@struct.dataclass
class MazeState(EnvState):
    """Maze state: `pos` = (x, y) in blocks [2], `heading` θ in [0, 2π), `time` the steps taken."""

    pos: Array
    heading: Array


@struct.dataclass
class MazeParams(EnvParams):
    """A maze task, fixed within an RL² trial.

    Attributes:
      walls: bool [2N + 1, 2N + 1]; `walls[gx, gy]` is True where block (gx, gy) is solid.
      start: int32 [2], the start cell (i, j); the agent starts at its centre (2i + 1.5, 2j + 1.5).
      heading: float32 scalar, the start heading (a multiple of 45° for sampled tasks).
      target: int32 [2], the target cell (i, j), different from `start`.
    """

    walls: Array
    start: Array
    heading: Array
    target: Array


@struct.dataclass
class MazePool:
    """A fixed set of layouts to draw tasks from: `walls` bool [P, 2N + 1, 2N + 1]."""

    walls: Array


def generate_layout(key: PRNGKey, size: int) -> Array:
    """A random N × N maze (a spanning tree of the cell grid) by randomised depth-first search.

    From a random root cell, repeat exactly 2N² − 1 times: look at the cell c on top of a stack;
    if c has unvisited neighbours, open the passage to one of them chosen uniformly (the largest of
    four uniform priorities among the unvisited ones), mark it visited and push it; otherwise pop c.
    Each of the N² − 1 non-root cells is pushed once and each of the N² cells popped once, so the
    fixed count 2N² − 1 ends with every cell visited and exactly N² − 1 passages open. It is one
    `lax.fori_loop`, so it jits and vmaps.

    Args:
      key: PRNG key.
      size: N, the number of cells per side (static).

    Returns:
      walls, bool [2N + 1, 2N + 1] (see the module docstring for the block layout).

    Example:
      >>> walls = generate_layout(jax.random.PRNGKey(0), 5)
      >>> walls.shape, int((~walls[1::2, 2::2]).sum() + (~walls[2::2, 1::2]).sum())
      ((11, 11), 24)
    """
    n, g = size, 2 * size + 1
    key_root, key_order = jax.random.split(key)
    root = jax.random.randint(key_root, (), 0, n * n, dtype=jnp.int32)
    iterations = 2 * n * n - 1
    priorities = jax.random.uniform(key_order, (iterations, 4))
    walls = jnp.ones((g, g), bool).at[1::2, 1::2].set(False)
    visited = jnp.zeros((n * n,), bool).at[root].set(True)
    stack = jnp.zeros((n * n,), jnp.int32).at[0].set(root)
    moves = jnp.asarray(_NEIGHBOURS)

    def body(t: Array, carry: tuple[Array, Array, Array, Array]) -> tuple[Array, ...]:
        walls, visited, stack, depth = carry
        top = stack[depth - 1]
        cell = jnp.stack([top // n, top % n])
        neighbour = cell[None, :] + moves  # [4, 2]
        inside = jnp.all((neighbour >= 0) & (neighbour < n), axis=1)
        index = jnp.clip(neighbour[:, 0], 0, n - 1) * n + jnp.clip(neighbour[:, 1], 0, n - 1)
        open_ = inside & ~visited[index]
        choice = jnp.argmax(jnp.where(open_, priorities[t], -1.0))
        push = open_[choice]
        passage = 2 * cell + 1 + moves[choice]
        walls = walls.at[passage[0], passage[1]].set(walls[passage[0], passage[1]] & ~push)
        visited = visited.at[index[choice]].set(visited[index[choice]] | push)
        slot = jnp.minimum(depth, n * n - 1)
        stack = stack.at[slot].set(jnp.where(push, index[choice], stack[slot]))
        return walls, visited, stack, jnp.where(push, depth + 1, depth - 1)

    walls, *_ = jax.lax.fori_loop(0, iterations, body, (walls, visited, stack, jnp.int32(1)))
    return walls


_layouts = jax.jit(jax.vmap(generate_layout, in_axes=(0, None)), static_argnums=1)


class RayHits(NamedTuple):
    """What each column's ray meets first.

    Attributes:
      distance: float32 [W], depth of the hit (its distance along the view direction).
      surface: int32 [W], the colour index of the wall hit (`palette_index` of its block, 0 … 7),
        or TARGET_SURFACE = 8 where the ray meets the target pillar first.
      x_face: bool [W], True if the face hit lies on a line x = const (its normal is ±x).
    """

    distance: Array
    surface: Array
    x_face: Array


TARGET_SURFACE = len(PALETTE)
_CODE_BITS = 5  # a hit's code 2·surface + x_face (< 18) rides in the low bits of its depth


def camera_rays(heading: Array) -> tuple[Array, Array]:
    """The direction of the ray through the centre of each image column.

    With view direction d = (cos θ, sin θ), left vector l = (−sin θ, cos θ) and focal length
    f = (W/2) / tan(FOV/2) pixels, column c (0 = leftmost) looks along

        r_c = d + u_c · l,     u_c = (W/2 − (c + 1/2)) / f,

    so a point at depth D along d and lateral offset L (to the left) appears at column position
    c + 1/2 = W/2 − f·L/D. Because d·r_c = 1, the point p + t·r_c is at depth exactly t.

    Args:
      heading: θ, scalar.

    Returns:
      (rx, ry), each float32 [W].
    """
    u = (WIDTH / 2 - (jnp.arange(WIDTH, dtype=jnp.float32) + 0.5)) / FOCAL
    cos, sin = jnp.cos(heading), jnp.sin(heading)
    return cos - u * sin, sin + u * cos


def _pack(depth: Array, surface: Array, x_face: bool | Array) -> Array:
    """Packs a hit into one int32 whose order is the order of the depths.

    A positive float32's bit pattern, read as an int32, increases with the float; replacing its
    5 lowest mantissa bits (a relative change below 4·10⁻⁶) by the code 2·surface + x_face keeps
    that order, so one integer `min` finds the nearest hit and carries what was hit. An invalid
    candidate has depth +∞, above every finite depth.
    """
    bits = jax.lax.bitcast_convert_type(depth.astype(jnp.float32), jnp.int32)
    code = 2 * surface + jnp.asarray(x_face, jnp.int32)
    return (bits & ~((1 << _CODE_BITS) - 1)) | code


def cast_rays(walls: Array, target: Array, pos: Array, heading: Array) -> RayHits:
    """Casts one ray per image column to the first wall or the target pillar.

    A ray p + t·r (r from `camera_rays`) moving through the block grid enters a new block each time
    it crosses a line x = const or y = const, as in a DDA traversal (Amanatides & Woo). Instead of
    stepping from crossing to crossing, every crossing ahead of the agent is a candidate, all
    computed at once, and the hit is the nearest candidate that enters a wall. For the lines
    a = const (a = x, y; b the other coordinate) candidate k = 0 … K − 1, K = 2N − 1 (the border
    walls stop every ray within them), is the (k + 1)-th line ahead:

        a_k = ⌊a⌋ + 1 + k  (r_a > 0)  or  ⌊a⌋ − k  (r_a < 0),     t_k = (a_k − a) / r_a,

    entering block ⌊a⌋ + 1 + k or ⌊a⌋ − 1 − k along a at b-height ⌊b + t_k·r_b⌋; it is a hit if that
    block is a wall. One extra candidate per axis is the target pillar (the square c ± w, c the
    target cell's centre, w = 0.25): a ray from outside enters it through a face turned towards it,
    a = c_a − w·sign(r_a), at t = (c_a − w·sign(r_a) − a) / r_a, a hit if t > 0 and
    |b + t·r_b − c_b| ≤ w (from inside the pillar nothing is hit). So

        t* = min( {t_k^x, t_k^y : enters a wall} ∪ {t^x, t^y : meets the pillar} ),

    and the pillar is seen only where no wall is nearer. Walls are looked up as bits (column gx of
    the grid packed into one int32, and likewise row gy), so a candidate's wall test is a shift.
    Each candidate's depth and what it hits travel packed in one int32 (`_pack`), so a single
    integer `min` over all [2, K + 1, W] candidates does the lot. On 2 CPU cores this steps the
    environment 3–5× faster than a `fori_loop` DDA; and because everything is reduced at once,
    XLA does not recompute per-column work for every pixel of the image, which a separate pillar
    test made it do (≈ 3× slower; benchmarks/maze_env.py).

    Args:
      walls: bool [G, G], G = 2N + 1 ≤ 31.
      target: the target cell (i, j), int32 [2].
      pos: (x, y), float32 [2], inside an open block.
      heading: θ, scalar.

    Returns:
      `RayHits` for the W = 40 columns (depths exact to a relative 4·10⁻⁶).
    """
    g = walls.shape[0]
    count = g - 2  # wall candidates per axis; slot `count` is the pillar
    rx, ry = camera_rays(heading)
    powers = jnp.left_shift(jnp.int32(1), jnp.arange(g, dtype=jnp.int32))
    solid = walls.astype(jnp.int32)
    # bits[0][gx]: bit gy is walls[gx, gy] (lines x = const); bits[1][gy]: bit gx, likewise
    bits = jnp.stack([jnp.sum(solid * powers[None, :], 1), jnp.sum(solid * powers[:, None], 0)])
    full = jnp.int32((1 << g) - 1)  # off-grid blocks count as walls
    padding = jnp.full((2, count + 1), full)
    padded = jnp.concatenate([padding, bits, padding], axis=1)  # [2, G + 2(K + 1)]
    a, b = pos, pos[::-1]  # per axis: the coordinate across the lines, and along them
    r_a, r_b = jnp.stack([rx, ry]), jnp.stack([ry, rx])  # [2, W]
    base = jnp.floor(a).astype(jnp.int32)
    span = count + 1
    slicer = jax.vmap(lambda row, start: jax.lax.dynamic_slice(row, (start,), (span,)))
    ahead = slicer(padded, base + span + 1)  # blocks ⌊a⌋ + 1 + k
    behind = slicer(padded, base)[:, ::-1]  # blocks ⌊a⌋ − 1 − k
    k = jnp.arange(span, dtype=jnp.int32)[None, :, None]  # [1, K + 1, 1]
    pillar = k == count
    forward = (r_a > 0)[:, None, :]  # [2, 1, W]
    block = jnp.where(forward, base[:, None, None] + 1 + k, base[:, None, None] - 1 - k)
    centre = 2.0 * target.astype(jnp.float32) + 1.5
    centre_a, centre_b = centre[:, None, None], centre[::-1][:, None, None]
    face = centre_a - PILLAR_HALF_WIDTH * jnp.sign(r_a)[:, None, :]
    line = jnp.where(pillar, face, jnp.where(forward, block, block + 1).astype(jnp.float32))
    safe = jnp.where(r_a == 0, 1.0, r_a)[:, None, :]
    depth = (line - a[:, None, None]) / safe
    along = b[:, None, None] + depth * r_b[:, None, :]
    height = jnp.clip(jnp.floor(along), -1, g).astype(jnp.int32)
    row = jnp.where(forward, ahead[:, :, None], behind[:, :, None])
    wall = (((row >> jnp.clip(height, 0, g - 1)) & 1) == 1) | (height < 0) | (height >= g)
    meets_pillar = (depth > 0) & (jnp.abs(along - centre_b) <= PILLAR_HALF_WIDTH)
    hit = jnp.where(pillar, meets_pillar, wall) & (r_a != 0)[:, None, :]
    x_lines = jnp.arange(2)[:, None, None] == 0
    gx, gy = jnp.where(x_lines, block, height), jnp.where(x_lines, height, block)
    surface = jnp.where(pillar, TARGET_SURFACE, palette_index(gx, gy))
    nearest = jnp.min(_pack(jnp.where(hit, depth, jnp.inf), surface, x_lines), axis=(0, 1))
    code = nearest & ((1 << _CODE_BITS) - 1)
    depth = jax.lax.bitcast_convert_type(nearest - code, jnp.float32)
    return RayHits(depth, code >> 1, (code & 1) == 1)


def render(
    walls: Array,
    target: Array,
    pos: Array,
    heading: Array,
    *,
    cast: Callable[[Array, Array, Array, Array], RayHits] | None = None,
) -> Array:
    """The first-person RGB view, float32 [H, W, 3] = [30, 40, 3] with values in [0, 1].

    Camera: eye at height 1/2 between floor (0) and ceiling (1), square pixels, horizontal field of
    view 60° (focal length f = 20 / tan 30° ≈ 34.64 px). Column c casts the ray of `camera_rays`;
    let D be the depth of the nearest thing it meets (`cast_rays`): a wall, or the target pillar
    if no wall is nearer. A point at height z and depth D projects to the image row position
    H/2 − f·(z − 1/2)/D, so a full-height object covers the pixels of row r (centre r + 1/2) with

        |r + 1/2 − H/2| < f / (2D);

    e.g. a wall at depth 2.5 covers |r + 1/2 − 15| < 6.93, i.e. rows 8 … 21 (14 pixels). Those
    pixels take the object's colour times its shade,

        colour · (1 for an x-face, 0.7 for a y-face) / (1 + D/8),

    with colour = PALETTE[palette_index(block)] for a wall and TARGET_RGB (red) for the pillar.
    Pixels above are CEILING_RGB and below FLOOR_RGB.

    Args:
      walls: bool [G, G].
      target: the target cell (i, j), int32 [2].
      pos: the eye (x, y), float32 [2], inside an open block.
      heading: θ, scalar.
      cast: the ray caster, `(walls, target, pos, heading) -> RayHits`; `cast_rays` if None
        (another formulation can be swapped in, as benchmarks/maze_env.py does with a loop DDA).

    Returns:
      The image, float32 [30, 40, 3].

    Example:
      >>> task = Maze(size=5).default_params
      >>> render(task.walls, task.target, jnp.array([1.5, 1.5]), jnp.float32(0.0)).shape
      (30, 40, 3)
    """
    hits = (cast_rays if cast is None else cast)(walls, target, pos, heading)
    colours = np.concatenate([PALETTE, TARGET_RGB[None]])  # [surface, 3]
    face_shade = np.array([Y_FACE_SHADE, 1.0], np.float32)  # [x_face]
    table = jnp.asarray((colours[:, None, :] * face_shade[None, :, None]).reshape(-1, 3))
    rgb = table[2 * hits.surface + hits.x_face] / (1.0 + hits.distance / FOG_DISTANCE)[:, None]
    rows = jnp.arange(HEIGHT, dtype=jnp.float32) + 0.5
    covered = jnp.abs(rows - HEIGHT / 2)[:, None] * hits.distance[None, :] < FOCAL / 2  # [H, W]
    background = jnp.where((rows < HEIGHT / 2)[:, None], CEILING_RGB[None], FLOOR_RGB[None])
    return jnp.where(covered[:, :, None], rgb[None, :, :], background[:, None, :])


def _block(pos: Array) -> Array:
    """The block (gx, gy) = (⌊x⌋, ⌊y⌋) containing a point, int32 [2]."""
    return jnp.floor(pos).astype(jnp.int32)


def _box_is_free(walls: Array, low: Array, high: Array) -> Array:
    """Whether the box [low, high] (narrower than one block) touches no wall block.

    A box narrower than 1 touches at most blocks ⌊low⌋ and ⌊high⌋ along each axis, so four
    look-ups decide it (a box edge lying exactly on a block boundary counts as touching it).
    """
    g = walls.shape[0]
    lo = jnp.clip(jnp.floor(low).astype(jnp.int32), 0, g - 1)
    hi = jnp.clip(jnp.floor(high).astype(jnp.int32), 0, g - 1)
    corners = walls[lo[0], lo[1]] | walls[lo[0], hi[1]] | walls[hi[0], lo[1]] | walls[hi[0], hi[1]]
    return ~corners


class Maze(Environment[MazeState, MazeParams]):
    """First-person navigation to a hidden target in a random N × N maze (RL² §4.3).

    Task distribution (`sample_task`): a layout from `generate_layout`, a start cell uniform over
    the N² cells, a start heading uniform over the 8 multiples of 45°, and a target cell uniform
    over the other N² − 1 cells. Layout, start and target make up the task: they stay fixed within
    an RL² trial (so a later episode can reuse what an earlier one found) and change between
    trials. RL² trains on a fixed pool of 1000 layouts (`make_pool`, `sample_task_from_pool`, which
    draws the layout from the pool and start, heading and target afresh) and tests on fresh ones.

    Dynamics, rewards and the observation are described in the module docstring: forward 0.5
    blocks (blocked by walls, −0.001), turns of ±45°, −0.04 per step, +1 and the end of the
    episode on entering the target cell, at most `horizon` steps; observation float32
    [30, 40, 3] in [0, 1]. Actions outside {0, 1, 2} are clipped into that range.

    `step` renders once per step: it selects the next state (stepped, or the reset state when the
    episode ended) and then renders it, which returns the same values as the base class's
    "render both, then select" (the view is a function of the state and the task) at half the cost.
    `reset` ignores its key: the episode starts at the task's start cell and heading.

    `default_params` is a fixed serpentine maze: every row of cells open along x, consecutive rows
    joined at alternate ends, start (0, 0) facing +x, target at the far end of the snake.

    Args:
      size: N, cells per side, an integer in [2, 15] (RL²: 5 for training, 5 and 9 for testing).
      horizon: maximum episode length, an integer >= 1 (RL²: 250).

    Example:
      >>> env = Maze(size=5)
      >>> task = env.sample_task(jax.random.PRNGKey(0))                  # task.walls: [11, 11]
      >>> obs, state = env.reset(jax.random.PRNGKey(1), task)            # obs: [30, 40, 3]
      >>> obs, state, reward, done, info = env.step(jax.random.PRNGKey(2), state, 0, task)

    Reference: Duan et al., "RL²: Fast reinforcement learning via slow reinforcement learning",
    arXiv:1611.02779, §4.3 (the paper used ViZDoom for rendering).
    """

    def __init__(self, size: int = 5, horizon: int = HORIZON):
        self.size = require_int("maze size", size, minimum=2)
        if self.size > _MAX_SIZE:
            raise ValueError(f"maze size must be an integer in [2, {_MAX_SIZE}], got {size}")
        self.horizon = require_int("horizon", horizon, minimum=1)

    @property
    def default_params(self) -> MazeParams:
        n = self.size
        walls = np.ones((2 * n + 1, 2 * n + 1), bool)
        walls[1:-1, 1::2] = False  # every row of cells open along x (cells and passages)
        for j in range(n - 1):  # join row j to row j + 1 at its right end (j even) or left end
            walls[2 * n - 1 if j % 2 == 0 else 1, 2 * j + 2] = False
        end = n - 1 if (n - 1) % 2 == 0 else 0
        return MazeParams(
            walls=jnp.asarray(walls),
            start=jnp.zeros((2,), jnp.int32),
            heading=jnp.array(0.0, jnp.float32),
            target=jnp.array([end, n - 1], jnp.int32),
        )

    def _place(self, key: PRNGKey, walls: Array) -> MazeParams:
        """Draws start cell, start heading and target cell (≠ start) for a layout."""
        n2 = self.size * self.size
        key_start, key_heading, key_target = jax.random.split(key, 3)
        start = jax.random.randint(key_start, (), 0, n2, dtype=jnp.int32)
        target = (start + 1 + jax.random.randint(key_target, (), 0, n2 - 1, dtype=jnp.int32)) % n2
        heading = jax.random.randint(key_heading, (), 0, 8).astype(jnp.float32) * TURN_ANGLE
        return MazeParams(
            walls=walls,
            start=jnp.stack([start // self.size, start % self.size]),
            heading=heading,
            target=jnp.stack([target // self.size, target % self.size]),
        )

    def sample_task(self, key: PRNGKey) -> MazeParams:
        """Draws a fresh layout, a start cell and heading, and a target cell ≠ the start.

        Generating a layout is a loop of 2N² − 1 steps; where tasks are drawn often (an RL² trial
        wrapper draws one at every step, used or not), drawing from a pool is much cheaper.

        Args:
          key: PRNG key.

        Returns:
          `MazeParams`.
        """
        key_layout, key_place = jax.random.split(key)
        return self._place(key_place, generate_layout(key_layout, self.size))

    def make_pool(self, key: PRNGKey, num_layouts: int = TRAIN_POOL_SIZE) -> MazePool:
        """A fixed pool of `num_layouts` random layouts (RL² trains on 1000).

        Args:
          key: PRNG key.
          num_layouts: P, an integer >= 1.

        Returns:
          `MazePool` with `walls` bool [P, 2N + 1, 2N + 1].

        Example:
          >>> pool = Maze(size=5).make_pool(jax.random.PRNGKey(0), 1000)
          >>> pool.walls.shape
          (1000, 11, 11)
        """
        num_layouts = require_int("num_layouts", num_layouts, minimum=1)
        return MazePool(walls=_layouts(jax.random.split(key, num_layouts), self.size))

    def sample_task_from_pool(self, key: PRNGKey, pool: MazePool) -> MazeParams:
        """Draws a task whose layout is uniform over the pool; start, heading, target as usual.

        Pass the pool as an argument of the compiled function (never close over it), so the same
        compiled code serves any pool of the same shape.

        Args:
          key: PRNG key.
          pool: a `MazePool` for this maze size.

        Returns:
          `MazeParams`.

        Example:
          >>> env = Maze(size=5)
          >>> pool = env.make_pool(jax.random.PRNGKey(0), 10)
          >>> task = jax.jit(env.sample_task_from_pool)(jax.random.PRNGKey(1), pool)
        """
        key_index, key_place = jax.random.split(key)
        index = jax.random.randint(key_index, (), 0, pool.walls.shape[0])
        return self._place(key_place, pool.walls[index])

    def _initial_state(self, params: MazeParams) -> MazeState:
        return MazeState(
            time=jnp.array(0, jnp.int32),
            pos=2.0 * params.start.astype(jnp.float32) + 1.5,
            heading=jnp.asarray(params.heading, jnp.float32),
        )

    def reset_env(self, key: PRNGKey, params: MazeParams) -> tuple[Array, MazeState]:
        del key
        state = self._initial_state(params)
        return self.get_obs(state, params), state

    def _transition(
        self, state: MazeState, action: Array | int, params: MazeParams
    ) -> tuple[MazeState, Array, Array, dict[str, Any]]:
        """One step without the observation: (next state, reward, done, info)."""
        action = jnp.asarray(action)
        if action.shape != ():
            raise ValueError(f"maze action must be a scalar action index, got shape {action.shape}")
        action = jnp.clip(action.astype(jnp.int32), FORWARD, RIGHT)
        turn = jnp.where(action == LEFT, TURN_ANGLE, jnp.where(action == RIGHT, -TURN_ANGLE, 0.0))
        heading = jnp.mod(state.heading + turn, 2 * math.pi).astype(jnp.float32)
        direction = jnp.stack([jnp.cos(state.heading), jnp.sin(state.heading)])
        ahead = state.pos + STEP_LENGTH * direction
        free = _box_is_free(
            params.walls,
            jnp.minimum(state.pos, ahead) - AGENT_RADIUS,
            jnp.maximum(state.pos, ahead) + AGENT_RADIUS,
        )
        forward = action == FORWARD
        wall_hit = forward & ~free
        pos = jnp.where(forward & free, ahead, state.pos).astype(jnp.float32)
        next_state = MazeState(time=state.time + 1, pos=pos, heading=heading)
        reached = self._reached(next_state, params)
        reward = (
            -STEP_PENALTY - WALL_PENALTY * wall_hit.astype(jnp.float32) + TARGET_REWARD * reached
        ).astype(jnp.float32)
        done = self.is_terminal(next_state, params)
        return next_state, reward, done, {"wall_hit": wall_hit, "reached": reached}

    def step_env(
        self, key: PRNGKey, state: MazeState, action: Array | int, params: MazeParams
    ) -> tuple[Array, MazeState, Array, Array, dict[str, Any]]:
        del key
        next_state, reward, done, info = self._transition(state, action, params)
        return self.get_obs(next_state, params), next_state, reward, done, info

    @partial(jax.jit, static_argnames=("self",))
    def step(
        self,
        key: PRNGKey,
        state: MazeState,
        action: Array | int,
        params: MazeParams | None = None,
    ) -> tuple[Array, MazeState, Array, Array, dict[str, Any]]:
        """Takes one step and auto-resets on the same task; renders once (see the class docstring).

        Args:
          key: PRNG key (unused: the maze is deterministic).
          state: the current state.
          action: 0 forward, 1 turn left, 2 turn right.
          params: the task; `default_params` if None.

        Returns:
          `(obs, state, reward, done, info)` as `Environment.step`; `info` holds `"wall_hit"` and
          `"reached"` (booleans of the step taken).
        """
        del key
        if params is None:
            params = self.default_params
        next_state, reward, done, info = self._transition(state, action, params)
        state = tree_select(done, self._initial_state(params), next_state)
        return self.get_obs(state, params), state, reward, done, info

    def get_obs(self, state: MazeState, params: MazeParams) -> Array:
        return render(params.walls, params.target, state.pos, state.heading)

    def _reached(self, state: MazeState, params: MazeParams) -> Array:
        return jnp.all(_block(state.pos) == 2 * params.target + 1)

    def is_terminal(self, state: MazeState, params: MazeParams) -> Array:
        """Whether the agent is in the target cell or the horizon is reached."""
        return jnp.logical_or(self._reached(state, params), state.time >= self.horizon)

    @property
    def name(self) -> str:
        return f"maze-{self.size}x{self.size}"

    @property
    def num_actions(self) -> int:
        return 3

    def action_space(self, params: MazeParams | None = None) -> Discrete:
        """Discrete(3): 0 forward, 1 turn left (+45°), 2 turn right (−45°)."""
        return Discrete(3)

    def observation_space(self, params: MazeParams | None = None) -> Box:
        """Box [0, 1] of shape (30, 40, 3) (height, width, RGB), float32."""
        return Box(0.0, 1.0, (HEIGHT, WIDTH, 3), jnp.float32)
