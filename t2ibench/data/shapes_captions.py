"""Caption templates of the ``shapes`` dataset.

Every image gets :data:`N_CAPTIONS` distinct lowercase English sentences, drawn from the
templates below with synonyms, from the image's own random generator. Rules:

- every caption names the primary object's colour and shape (a word of
  :data:`COLOUR_WORDS` / :data:`SHAPE_WORDS` for it), before any other object;
- synonyms keep their meaning (a filled circle is a "disc", never a "ring"; a diamond is
  a "rhombus"; a cross is a "plus sign");
- most captions also give size, position, background, the number of objects and the
  relations of the other objects to the primary (from their positions).
"""
from __future__ import annotations

import numpy as np

from t2ibench.data.shapes_render import POSITION_XY

N_CAPTIONS = 10

#: colour -> words (the first is the canonical name; every synonym is a recognisable colour word)
COLOUR_WORDS = {
    "red": ["red", "crimson", "scarlet"],
    "orange": ["orange", "tangerine"],
    "yellow": ["yellow", "golden", "lemon"],
    "green": ["green", "emerald"],
    "blue": ["blue", "cobalt", "sapphire"],
    "purple": ["purple", "violet"],
    "pink": ["pink", "rose"],
    "white": ["white", "snowy"],
}
#: shape -> nouns (filled shapes: a circle is a disc, never a ring)
SHAPE_WORDS = {
    "circle": ["circle", "disc", "disk", "round dot"],
    "square": ["square", "block"],
    "triangle": ["triangle", "three-sided shape"],
    "star": ["star", "five-pointed star"],
    "cross": ["cross", "plus sign"],
    "diamond": ["diamond", "rhombus", "lozenge"],
}
SIZE_WORDS = {"small": ["small", "little", "tiny"], "large": ["large", "big", "huge"]}
POSITION_PHRASES = {
    "top-left": ["in the top left corner", "at the upper left", "in the upper-left part of the image"],
    "top-right": ["in the top right corner", "at the upper right", "in the upper-right part of the image"],
    "bottom-left": ["in the bottom left corner", "at the lower left", "in the lower-left part of the image"],
    "bottom-right": ["in the bottom right corner", "at the lower right", "in the lower-right part of the image"],
    "center": ["in the center", "in the middle", "at the center of the image"],
}
BACKGROUND_PHRASES = {
    "black": ["on a black background", "against a black backdrop", "on black"],
    "dark gray": ["on a dark gray background", "against a dark grey backdrop", "on charcoal"],
    "gray": ["on a gray background", "against a grey backdrop", "on plain gray"],
    "navy": ["on a navy background", "against a navy backdrop", "on dark navy"],
    "gradient": ["on a gradient background", "against a shaded backdrop", "on a smooth gray gradient"],
    "stripes": ["on a striped background", "against gray stripes", "on a background of stripes"],
    "noise": ["on a noisy background", "against a speckled backdrop", "on a grainy texture"],
    "checkerboard": ["on a checkered background", "against a checkerboard", "on a checkerboard pattern"],
}
COUNT_WORDS = {1: ["one", "a single"], 2: ["two", "a pair of"], 3: ["three"]}
OBJECT_NOUNS = ["objects", "shapes", "figures", "items"]
IMAGE_NOUNS = ["an image", "a picture", "a drawing", "a rendering", "a scene"]
SHOW_VERBS = ["showing", "with", "containing", "depicting"]
PLACE_VERBS = ["sits", "is placed", "appears", "is drawn", "lies"]


def relation(primary: dict, other: dict) -> str:
    """Where ``other`` is relative to ``primary`` ("to the right of", "above and to the left of"...)."""
    (px, py), (ox, oy) = POSITION_XY[primary["position"]], POSITION_XY[other["position"]]
    vert = "above" if oy < py else "below" if oy > py else ""
    horiz = "to the left of" if ox < px else "to the right of" if ox > px else ""
    return " and ".join(w for w in (vert, horiz) if w)


def _article(phrase: str) -> str:
    return ("an " if phrase[0] in "aeiou" else "a ") + phrase


class _Words:
    """Draws synonyms from the image's random generator (canonical word half of the time)."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng

    def pick(self, words: list[str], canonical_p: float = 0.0) -> str:
        if canonical_p and self.rng.random() < canonical_p:
            return words[0]
        return words[int(self.rng.integers(0, len(words)))]

    def colour(self, obj):
        return self.pick(COLOUR_WORDS[obj["colour"]], 0.5)

    def shape(self, obj):
        return self.pick(SHAPE_WORDS[obj["shape"]], 0.5)

    def size(self, obj):
        return self.pick(SIZE_WORDS[obj["size"]])

    def np(self, obj, size: bool = True) -> str:
        """'a large red circle' / 'a crimson disc'."""
        words = ([self.size(obj)] if size else []) + [self.colour(obj), self.shape(obj)]
        return _article(" ".join(words))

    def pos(self, obj):
        return self.pick(POSITION_PHRASES[obj["position"]])

    def bg(self, bg):
        return self.pick(BACKGROUND_PHRASES[bg["name"]])


def _others_clause(w: _Words, objs: list[dict]) -> str:
    """'a small blue square above it and a tiny pink star to the left of it'."""
    parts = [f"{w.np(o)} {relation(objs[0], o)} it" for o in objs[1:]]
    return " and ".join(parts)


def _templates(w: _Words, scene: dict):
    objs, bg = scene["objects"], scene["background"]
    p, n = objs[0], len(objs)
    count = w.pick(COUNT_WORDS[n])
    noun = w.pick(OBJECT_NOUNS) if n > 1 else w.pick(["object", "shape", "figure"])
    others = objs[1:]
    t = []
    t.append(lambda: f"{w.np(p)} {w.pos(p)} {w.bg(bg)}")
    t.append(lambda: f"there is {w.np(p)} {w.pos(p)}")
    t.append(lambda: f"{w.pick(IMAGE_NOUNS)} {w.pick(SHOW_VERBS)} {w.np(p)} {w.bg(bg)}")
    t.append(lambda: f"the {w.colour(p)} {w.shape(p)} is {w.size(p)} and {w.pos(p)}")
    t.append(lambda: f"{w.np(p, size=False)}")
    t.append(lambda: f"{w.bg(bg)} {w.pick(PLACE_VERBS)} {w.np(p)}")
    t.append(lambda: f"{w.np(p)} {w.pick(PLACE_VERBS)} {w.pos(p)} {w.bg(bg)}")
    t.append(lambda: f"this {w.shape(p)} is {w.colour(p)}")
    t.append(lambda: f"{w.pick(['a', 'the'])} {w.colour(p)} {w.shape(p)} {w.pos(p)}")
    if n == 1:
        t.append(lambda: f"{count} {w.colour(p)} {w.shape(p)} {w.pos(p)}, nothing else")
        t.append(lambda: f"{w.pick(IMAGE_NOUNS)} of {count} {noun}: {w.np(p)} {w.bg(bg)}")
        t.append(lambda: f"only {w.np(p)} {w.bg(bg)}")
        t.append(lambda: f"{w.np(p)} alone {w.pos(p)}")
        t.append(lambda: f"a lone {w.size(p)} {w.colour(p)} {w.shape(p)} {w.bg(bg)}")
    else:
        t.append(lambda: f"{w.np(p)} {w.pos(p)} with {_others_clause(w, objs)}")
        t.append(lambda: f"{w.pick(IMAGE_NOUNS)} of {count} {noun}: {w.np(p)} and "
                         + " and ".join(w.np(o) for o in others))
        t.append(lambda: f"{w.np(p)} next to " + " and ".join(w.np(o) for o in others))
        t.append(lambda: f"{w.np(p)} {w.bg(bg)}, " + " and ".join(
            f"{w.np(o)} {w.pos(o)}" for o in others))
        t.append(lambda: f"{w.np(p)} and {w.pick(COUNT_WORDS[n - 1])} smaller "
                         + ("shapes" if n == 3 else "shape") + f" {w.bg(bg)}")
        t.append(lambda: f"the {w.colour(p)} {w.shape(p)} is the biggest of {count} {noun}")
        t.append(lambda: f"{w.np(p)}; " + "; ".join(f"{w.np(o)} is {relation(p, o)} it" for o in others))
    return t


def make_captions(scene: dict, rng: np.random.Generator, n: int = N_CAPTIONS) -> list[str]:
    """``n`` distinct captions of ``scene`` (lowercase sentences ending with a full stop)."""
    w = _Words(rng)
    templates = _templates(w, scene)
    out: list[str] = []
    picks = [int(k) for k in rng.permutation(len(templates))]
    while len(out) < n:
        if not picks:  # every template used once: draw more (synonyms make them differ)
            picks = [int(rng.integers(0, len(templates)))]
        text = templates[picks.pop(0)]().strip() + "."
        if text not in out:
            out.append(text)
    return out


def mentions(caption: str, colour: str, shape: str) -> bool:
    """Whether ``caption`` names ``colour`` and ``shape`` (any synonym)."""
    c = f" {caption.rstrip('.').replace(',', ' ').replace(';', ' ').replace(':', ' ')} "
    return (any(f" {word} " in c for word in COLOUR_WORDS[colour])
            and any(f" {word} " in c for word in SHAPE_WORDS[shape]))
