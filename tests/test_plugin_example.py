"""The README's "Plug in your generator" example, end to end (issue 13, point 7).

``examples/my_generator.py`` is a user's generator in one file (a factory ``make(dataset, device)`` and
``generate(captions, seed)``). The README shows two commands: one adds it as a row of the ``shapes``
leaderboard, the other as a row of a paper's table (``--table-row``). This test runs exactly those
commands (:data:`LEADERBOARD_COMMAND`, :data:`TABLE_COMMAND`; only the output folders go to a temporary
folder) and checks that the user's row is in the leaderboard and in the table's files with measured
values. Cost: about 30 s on 2 CPU cores (n = 100: three leaderboard rows with every default metric, five
generators with IS for HDGAN Table 1).
"""
from __future__ import annotations

import json
import math
import shlex
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PLUGIN = "examples/my_generator.py:make"

#: The README's commands, verbatim (run from the repository root).
LEADERBOARD_COMMAND = ("python benchmark.py --generators real,noise,examples/my_generator.py:make "
                       "--table none --no-sanity --n-images 100 --out runs/plugin-example")
TABLE_COMMAND = ("python benchmark.py --no-leaderboard --no-sanity --table hdgan-table-1 "
                 "--table-row 'hdgan-table-1:My generator=examples/my_generator.py:make' "
                 "--table-n-images 100 --out runs/plugin-example")


def _argv(command: str, tmp_path: Path) -> list[str]:
    """The command's arguments (after ``python benchmark.py``) with its output folders in ``tmp_path``."""
    argv = shlex.split(command)
    assert argv[:2] == ["python", "benchmark.py"]
    argv = argv[2:]
    argv[argv.index("--out") + 1] = str(tmp_path / "out")
    return argv + ["--images-dir", str(tmp_path / "images"), "--no-progress", "--device", "cpu"]


@pytest.fixture
def in_repo(monkeypatch):
    """The README's commands run from the repository root (the plug-in is a relative path)."""
    monkeypatch.chdir(REPO)


def test_example_generator_follows_the_contract(shapes_test):
    import torch

    from t2ibench.registry import load_generator

    gen = load_generator(PLUGIN, dataset=shapes_test)
    captions = [shapes_test.captions(i)[0] for i in range(6)]
    images = gen.generate(captions, seed=7)
    assert images.dtype == torch.uint8 and tuple(images.shape) == (6, 3, 64, 64)
    assert torch.equal(images, gen.generate(captions, seed=7))  # deterministic for a seed
    assert torch.equal(images[2:3], gen.generate(captions[2:3], seed=9))  # caption j uses seed + j
    # it draws what the caption names: the primary object's colour and shape, read from the text
    scene = gen.scene("a huge cobalt rhombus against gray stripes, a tiny pink star at the lower right",
                      __import__("numpy").random.default_rng(0))
    obj = scene["objects"][0]
    assert (obj["colour"], obj["shape"], obj["size"], scene["background"]["name"]) == ("blue", "diamond", "large",
                                                                                      "stripes")
    with pytest.raises(ValueError, match="shapes captions only"):
        load_generator(PLUGIN, dataset=type("D", (), {"name": "cub", "image_size": 64})())


def test_readme_leaderboard_command_adds_a_row(tmp_path, in_repo, benchmark_script):
    from t2ibench import defaults
    from t2ibench.io import safe_filename

    assert benchmark_script.main(_argv(LEADERBOARD_COMMAND, tmp_path)) == 0
    board = tmp_path / "out" / "shapes"
    md = (board / "leaderboard.md").read_text()
    row = next(line for line in md.splitlines() if line.startswith(f"| {PLUGIN} |"))
    assert len([c for c in row.split("|")[2:-1] if c.strip()]) >= len(defaults.DEFAULT_METRICS)
    assert PLUGIN in (board / "leaderboard.csv").read_text()
    results = {r["generator"]: r for r in json.loads((board / "leaderboard.json").read_text())["rows"]}
    mine, real, noise = results[PLUGIN], results["real"], results["noise"]
    assert set(mine["metrics"]) == set(defaults.DEFAULT_METRICS)
    assert (board / "results" / f"{safe_filename(PLUGIN)}.json").is_file()
    assert (board / "samples" / f"{safe_filename(PLUGIN)}.png").is_file()
    value = {name: r["metrics"] for name, r in results.items()}
    # an honest keyword generator: far better than noise, short of the real images
    assert value["real"]["fid"]["value"] < value[PLUGIN]["fid"]["value"] < value["noise"]["fid"]["value"]
    assert value[PLUGIN]["r-precision"]["value"] > 5 * value["noise"]["r-precision"]["value"]
    assert value[PLUGIN]["ssim"]["value"] < 0.9 * value["real"]["ssim"]["value"]
    assert mine["n_images"] == real["n_images"] == noise["n_images"] == 100


def test_readme_table_command_adds_a_row_to_a_paper_table(tmp_path, in_repo, benchmark_script, capsys):
    assert benchmark_script.main(_argv(TABLE_COMMAND, tmp_path)) == 0
    tables = tmp_path / "out" / "shapes" / "tables"
    for fmt in ("md", "csv", "tex"):
        assert "My generator" in (tables / f"hdgan-table-1.{fmt}").read_text(), fmt
    table = json.loads((tables / "hdgan-table-1.json").read_text())
    rows = {r[0]: r for r in table["rows"]}
    assert rows["My generator"][1] == PLUGIN  # the Generator column names the plug-in
    cells = [v for v in table["values"] if v["row"] == "My generator"]
    measured = [v for v in cells if v["source"] == "measured"]
    reported = [v for v in cells if v["source"] == "reported"]
    assert measured and all(v["value"] is not None and math.isfinite(v["value"]) and v["value"] > 1
                            for v in measured)  # IS on shapes, measured with the table's protocol
    assert reported and all(v["value"] is None and v["text"] == "—" for v in reported)
    # the paper's rows are still there and measured; the user's row is in no agreement figure
    assert rows["HDGAN"] and any(v["row"] == "HDGAN" and v["source"] == "measured" and v["value"] for v in
                                 table["values"])
    for column in table["agreement"]["columns"]:
        assert "My generator" not in column["rows"]
    assert any("My generator" in note and "--table-row" in note for note in table["notes"])
    assert (tables / "results" / "examples_my_generator.py_make.json").is_file()


@pytest.mark.parametrize("spec, words", [
    ("hdgan-table-1:My generator", "no '=' before the generator"),
    ("hdgan-table-1 My generator=examples/my_generator.py:make", "no ':' between the table and the row label"),
    ("hdgan-table-9:Mine=examples/my_generator.py:make", "unknown table 'hdgan-table-9'"),
    ("hdgan-table-1:=examples/my_generator.py:make", "must all be given"),
    ("hdgan-table-1:HDGAN=examples/my_generator.py:make", "already a row of the table"),
    ("sdn-table-1:Mine=examples/my_generator.py:make", "not measured by this run"),
    ("hdgan-table-1:Mine=examples/nope.py:make", "no such file"),
])
def test_bad_table_row_is_one_clear_line_before_any_work(spec, words, tmp_path, in_repo, benchmark_script, capsys):
    argv = ["--no-leaderboard", "--no-sanity", "--table", "hdgan-table-1", "--table-row", spec,
            "--out", str(tmp_path / "out"), "--images-dir", str(tmp_path / "images"), "--no-progress"]
    assert benchmark_script.main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err
    assert not (tmp_path / "out" / "shapes").exists()  # nothing was measured


def test_readme_shows_exactly_these_commands():
    readme = (REPO / "README.md").read_text()
    if "Plug in your generator" not in readme:
        pytest.skip("README.md has no 'Plug in your generator' section yet (draft: notes/gate_readme.md)")
    for command in (LEADERBOARD_COMMAND, TABLE_COMMAND):
        assert " ".join(command.split()) in " ".join(readme.replace("\\\n", " ").split()), command
