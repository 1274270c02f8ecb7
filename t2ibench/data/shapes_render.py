"""Scene sampling and anti-aliased rendering of the ``shapes`` dataset (numpy + PIL only).

A *scene* is sampled from a per-image random generator in resolution-free units (the
image is the unit square, x to the right, y down), so that the same scene renders at
any ``image_size``. Rendering draws the objects at 4x supersampling with
``PIL.ImageDraw`` and box-filters them down; backgrounds are computed in numpy
(stripes and checkerboards also at 4x, then box-averaged).

Scene rules (the ground truth every metric can be checked against):

- 1, 2 or 3 objects (probability 1/3 each), each at a different one of five
  positions (four quadrant centres and the centre, jittered by at most 0.01).
- The *primary* object (object 0) gives the image its class ``(colour, shape)``. In a
  scene of several objects it is ``large`` and every other object is ``small``, so the
  class can be read off the pixels (the class is the colour and shape of the largest
  object); a lone object is ``small`` or ``large``.
- Objects never overlap (their boxes are at least 0.005 apart); the primary is drawn last.
- Boxes are the exact extent of each drawn polygon/ellipse.
"""
from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle", "star", "cross", "diamond")
COLOURS = ("red", "orange", "yellow", "green", "blue", "purple", "pink", "white")
COLOUR_RGB = {
    "red": (220, 35, 35),
    "orange": (245, 135, 20),
    "yellow": (240, 220, 40),
    "green": (35, 165, 60),
    "blue": (40, 90, 230),
    "purple": (145, 55, 195),
    "pink": (250, 135, 195),
    "white": (245, 245, 245),
}
SIZES = ("small", "large")
#: half-extent (fraction of the image side) of each size: uniform in [lo, hi]
SIZE_RANGE = {"small": (0.075, 0.09), "large": (0.15, 0.18)}
POSITIONS = ("top-left", "top-right", "bottom-left", "bottom-right", "center")
POSITION_XY = {
    "top-left": (0.22, 0.22), "top-right": (0.78, 0.22),
    "bottom-left": (0.22, 0.78), "bottom-right": (0.78, 0.78),
    "center": (0.5, 0.5),
}
POSITION_JITTER = 0.01
#: plain backgrounds (name -> RGB) and textured ones (grey tones; names used in captions)
PLAIN_BACKGROUNDS = {"black": (12, 12, 12), "dark gray": (55, 55, 55), "gray": (120, 120, 120),
                     "navy": (22, 28, 72)}
TEXTURED_BACKGROUNDS = ("gradient", "stripes", "noise", "checkerboard")
BACKGROUNDS = tuple(PLAIN_BACKGROUNDS) + TEXTURED_BACKGROUNDS
NUM_CLASSES = len(COLOURS) * len(SHAPES)
SUPERSAMPLE = 4


def class_index(colour: str, shape: str) -> int:
    """Class id of ``(colour, shape)``: colour-major, ``COLOURS.index * 6 + SHAPES.index``."""
    return COLOURS.index(colour) * len(SHAPES) + SHAPES.index(shape)


def class_name(class_id: int) -> str:
    return f"{COLOURS[class_id // len(SHAPES)]} {SHAPES[class_id % len(SHAPES)]}"


CLASS_NAMES = [class_name(i) for i in range(NUM_CLASSES)]


# -- geometry -------------------------------------------------------------------
def shape_outline(shape: str, cx: float, cy: float, h: float):
    """``("ellipse", (x0, y0, x1, y1))`` or ``("polygon", [(x, y), ...])`` in unit coordinates."""
    if shape == "circle":
        return "ellipse", (cx - h, cy - h, cx + h, cy + h)
    if shape == "square":
        s = 0.86 * h
        return "polygon", [(cx - s, cy - s), (cx + s, cy - s), (cx + s, cy + s), (cx - s, cy + s)]
    if shape == "triangle":
        return "polygon", [(cx, cy - h), (cx + h, cy + 0.8 * h), (cx - h, cy + 0.8 * h)]
    if shape == "diamond":
        return "polygon", [(cx, cy - h), (cx + 0.68 * h, cy), (cx, cy + h), (cx - 0.68 * h, cy)]
    if shape == "star":
        pts = []
        for k in range(10):
            r = h if k % 2 == 0 else 0.42 * h
            a = -math.pi / 2 + k * math.pi / 5
            pts.append((cx + r * math.cos(a), cy + 0.1 * h + r * math.sin(a)))
        return "polygon", pts
    if shape == "cross":
        a, w = 0.95 * h, 0.32 * h
        return "polygon", [(cx - w, cy - a), (cx + w, cy - a), (cx + w, cy - w), (cx + a, cy - w),
                           (cx + a, cy + w), (cx + w, cy + w), (cx + w, cy + a), (cx - w, cy + a),
                           (cx - w, cy + w), (cx - a, cy + w), (cx - a, cy - w), (cx - w, cy - w)]
    raise ValueError(f"unknown shape {shape!r}; known: {', '.join(SHAPES)}")


def outline_box(kind: str, geom) -> tuple[float, float, float, float]:
    if kind == "ellipse":
        return tuple(geom)
    xs, ys = [p[0] for p in geom], [p[1] for p in geom]
    return min(xs), min(ys), max(xs), max(ys)


def _overlap(a, b, margin: float = 0.005) -> bool:
    return not (a[2] + margin <= b[0] or b[2] + margin <= a[0] or a[3] + margin <= b[1] or b[3] + margin <= a[1])


# -- sampling -----------------------------------------------------------------
def scene_rng(seed: int, stream: int, index: int) -> np.random.Generator:
    """The random generator of one image: a function of (seed, stream, global index) only."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), int(stream), int(index)]))


def balanced_class(seed: int, stream: int, index: int, allowed: list[int]) -> int:
    """Primary class of image ``index``: each block of ``len(allowed)`` consecutive indices
    holds every allowed class exactly once, in an order drawn from (seed, stream, block)."""
    k = len(allowed)
    block, pos = divmod(int(index), k)
    perm = np.random.default_rng(np.random.SeedSequence([int(seed), int(stream), 1_000_003, block])).permutation(k)
    return int(allowed[perm[pos]])


def sample_scene(rng: np.random.Generator, primary_class: int, secondary_classes: list[int]) -> dict:
    """A scene: ``{"background": {...}, "objects": [{shape, colour, size, position, center, half, box}]}``.

    ``secondary_classes``: the classes other objects may take (uniform).
    """
    n_objects = int(rng.integers(1, 4))
    positions = [POSITIONS[i] for i in rng.permutation(len(POSITIONS))[:n_objects]]
    classes = [primary_class] + [int(secondary_classes[j]) for j in rng.integers(0, len(secondary_classes), n_objects - 1)]
    sizes = [SIZES[int(rng.integers(0, 2))]] if n_objects == 1 else ["large"] + ["small"] * (n_objects - 1)
    tints = rng.integers(-10, 11, size=(n_objects, 3))
    objects: list[dict] = []
    for k in range(n_objects):
        colour, shape = COLOURS[classes[k] // len(SHAPES)], SHAPES[classes[k] % len(SHAPES)]
        px, py = POSITION_XY[positions[k]]
        for _ in range(100):  # rejection: jitter/size again until no box overlaps an earlier one
            cx = px + rng.uniform(-POSITION_JITTER, POSITION_JITTER)
            cy = py + rng.uniform(-POSITION_JITTER, POSITION_JITTER)
            h = rng.uniform(*SIZE_RANGE[sizes[k]])
            box = outline_box(*shape_outline(shape, cx, cy, h))
            if not any(_overlap(box, o["box"]) for o in objects):
                break
        else:  # pragma: no cover - the layout constants make this unreachable in practice
            raise RuntimeError("shapes: could not place objects without overlap")
        rgb = tuple(int(np.clip(c + t, 0, 255)) for c, t in zip(COLOUR_RGB[colour], tints[k]))
        objects.append({"shape": shape, "colour": colour, "size": sizes[k], "position": positions[k],
                        "center": [float(cx), float(cy)], "half": float(h), "box": [float(v) for v in box],
                        "rgb": list(rgb)})
    return {"background": sample_background(rng), "objects": objects}


def sample_background(rng: np.random.Generator) -> dict:
    name = BACKGROUNDS[int(rng.integers(0, len(BACKGROUNDS)))]
    bg: dict = {"name": name}
    if name in PLAIN_BACKGROUNDS:
        bg["rgb"] = [int(np.clip(c + d, 0, 255)) for c, d in zip(PLAIN_BACKGROUNDS[name], rng.integers(-6, 7, 3))]
    elif name == "gradient":
        lo, hi = float(rng.uniform(15, 45)), float(rng.uniform(95, 135))
        bg.update(angle=float(rng.uniform(0, 2 * math.pi)), lo=lo, hi=hi)
    elif name in ("stripes", "checkerboard"):
        lo, hi = float(rng.uniform(25, 50)), float(rng.uniform(85, 115))
        bg.update(lo=lo, hi=hi, period=float(rng.uniform(0.08, 0.16)), phase=float(rng.uniform(0, 1)),
                  angle=float(rng.choice([0.0, math.pi / 4, math.pi / 2, 3 * math.pi / 4])) if name == "stripes" else 0.0)
    else:  # noise: a coarse and a fine octave of grey value noise, fixed grids (size-independent)
        bg.update(mean=float(rng.uniform(55, 90)), coarse=rng.normal(0, 22, (6, 6)).round(3).tolist(),
                  fine=rng.normal(0, 12, (20, 20)).round(3).tolist())
    return bg


# -- rendering ----------------------------------------------------------------
def _unit_grid(n: int) -> tuple[np.ndarray, np.ndarray]:
    c = (np.arange(n, dtype=np.float64) + 0.5) / n
    return np.meshgrid(c, c, indexing="xy")


def _resize_float(a: np.ndarray, size: int) -> np.ndarray:
    return np.asarray(Image.fromarray(np.asarray(a, dtype=np.float32), mode="F").resize((size, size), Image.BICUBIC))


def _box_down(a: np.ndarray) -> np.ndarray:
    """Box-filter a float field from ``SUPERSAMPLE * size`` down to ``size`` pixels."""
    return np.asarray(Image.fromarray(np.asarray(a, dtype=np.float32), mode="F").reduce(SUPERSAMPLE))


def render_background(bg: dict, size: int) -> np.ndarray:
    """float32 ``[size, size, 3]`` in 0..255."""
    name = bg["name"]
    if name in PLAIN_BACKGROUNDS:
        return np.broadcast_to(np.asarray(bg["rgb"], np.float32), (size, size, 3)).copy()
    if name == "gradient":
        x, y = _unit_grid(size)
        t = (x - 0.5) * math.cos(bg["angle"]) + (y - 0.5) * math.sin(bg["angle"])
        t = (t - t.min()) / max(t.max() - t.min(), 1e-9)
        g = bg["lo"] + (bg["hi"] - bg["lo"]) * t
    elif name in ("stripes", "checkerboard"):
        n = size * SUPERSAMPLE
        x, y = _unit_grid(n)
        if name == "stripes":
            u = x * math.cos(bg["angle"]) + y * math.sin(bg["angle"])
            on = np.floor(u / bg["period"] + bg["phase"]).astype(np.int64) % 2
        else:
            on = (np.floor(x / bg["period"] + bg["phase"]) + np.floor(y / bg["period"] + bg["phase"])).astype(np.int64) % 2
        g = _box_down(bg["lo"] + (bg["hi"] - bg["lo"]) * on)
    else:
        g = bg["mean"] + _resize_float(np.asarray(bg["coarse"]), size) + _resize_float(np.asarray(bg["fine"]), size)
    g = np.clip(g, 0, 255).astype(np.float32)
    return np.repeat(g[:, :, None], 3, axis=2)


def render_scene(scene: dict, size: int) -> np.ndarray:
    """uint8 ``[3, size, size]`` image of ``scene``."""
    n = size * SUPERSAMPLE
    colour_layer = Image.new("RGB", (n, n), (0, 0, 0))
    alpha_layer = Image.new("L", (n, n), 0)
    dc, da = ImageDraw.Draw(colour_layer), ImageDraw.Draw(alpha_layer)
    for obj in reversed(scene["objects"]):  # the primary (object 0) last, on top
        kind, geom = shape_outline(obj["shape"], obj["center"][0], obj["center"][1], obj["half"])
        if kind == "ellipse":
            xy = [geom[0] * n, geom[1] * n, geom[2] * n - 1, geom[3] * n - 1]
            dc.ellipse(xy, fill=tuple(obj["rgb"]))
            da.ellipse(xy, fill=255)
        else:
            pts = [(px * n, py * n) for px, py in geom]
            dc.polygon(pts, fill=tuple(obj["rgb"]))
            da.polygon(pts, fill=255)
    # box-filter down (premultiplied: the colour layer is black where there is no object)
    colour = np.asarray(colour_layer.reduce(SUPERSAMPLE), np.float32)
    alpha = np.asarray(alpha_layer.convert("F").reduce(SUPERSAMPLE), np.float32) / 255.0
    out = render_background(scene["background"], size) * (1.0 - alpha[:, :, None]) + colour
    return np.ascontiguousarray(np.clip(np.rint(out), 0, 255).astype(np.uint8).transpose(2, 0, 1))
