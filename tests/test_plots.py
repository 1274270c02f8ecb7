"""The figures of t2ibench.plots that the benchmark writes: the grid of every generator for the same captions."""
from __future__ import annotations

import pytest
import torch
from PIL import Image

from t2ibench.plots import save_model_grid


def test_model_grid_has_a_row_per_generator_and_a_column_per_caption(tmp_path):
    captions = ["a big red circle", "a small blue square", "a tiny green star"]
    rows = {"real": torch.full((3, 3, 64, 64), 200, dtype=torch.uint8),
            "side output": torch.zeros(3, 3, 16, 16, dtype=torch.uint8)}          # sizes may differ
    save_model_grid(rows, captions, tmp_path / "grid.png", title="same captions")
    with Image.open(tmp_path / "grid.png") as im:
        assert im.format == "PNG" and im.width > im.height                       # 3 columns, 2 rows
    with pytest.raises(ValueError, match="every row needs 3 images"):
        save_model_grid({"real": rows["real"][:2]}, captions, tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()
