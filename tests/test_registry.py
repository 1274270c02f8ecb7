"""Generator registry: registered names, module:callable strings, installed entry points."""
from __future__ import annotations

import sys
import textwrap

import pytest
import torch

from t2ibench.registry import get_generator_factory, list_generators, load_generator, register_generator

from toy import ToyDataset


def test_reference_rows_are_registered():
    assert {"real", "real-mismatched", "noise"} <= set(list_generators())


def test_load_reference_generators_on_a_dataset_object():
    ds = ToyDataset(12)
    for name in ("real", "real-mismatched", "noise"):
        gen = load_generator(name, dataset=ds)
        out = gen.generate(["a picture", "image number 3, mostly red"], seed=0)
        assert out.dtype == torch.uint8 and out.shape == (2, 3, 32, 32)
        assert torch.equal(out, gen.generate(["a picture", "image number 3, mostly red"], seed=0))


def test_real_mismatched_returns_another_class_and_noise_depends_on_seed():
    ds = ToyDataset(30)
    gen = load_generator("real-mismatched", dataset=ds)
    from t2ibench.engine import evaluation_plan

    plan = evaluation_plan(ds, 30, seed=0)
    out = gen.generate(plan, seed=4)
    for k, c in enumerate(plan):
        matches = [i for i in range(len(ds)) if torch.equal(ds.image(i), out[k])]
        assert matches and all(ds.class_id(i) != ds.class_id(c.image_index) for i in matches)
    noise = load_generator("noise", dataset=ds)
    assert not torch.equal(noise.generate(["x"], seed=0), noise.generate(["x"], seed=1))


def test_real_rejects_a_caption_of_another_dataset():
    gen = load_generator("real", dataset=ToyDataset(5))
    with pytest.raises(ValueError, match="is not a caption of toy"):
        gen.generate(["a purple elephant"])


def test_unknown_generator_lists_known_names():
    with pytest.raises(ValueError, match="unknown generator 'nope'.*noise"):
        load_generator("nope", dataset=ToyDataset(5))


def test_register_generator_decorator_and_duplicate_name():
    @register_generator("test-constant-grey")
    def grey(dataset, device="cpu"):
        class Grey:
            def generate(self, captions, seed=0):
                return torch.full((len(captions), 3, dataset.image_size, dataset.image_size), 128, dtype=torch.uint8)
        return Grey()

    assert "test-constant-grey" in list_generators()
    assert load_generator("test-constant-grey", dataset=ToyDataset(5)).generate(["a"]).float().mean() == 128
    with pytest.raises(ValueError, match="already registered"):
        register_generator("test-constant-grey", lambda dataset, device="cpu": None)


def _write_plugin(tmp_path, with_dist_info: bool):
    (tmp_path / "myplugin.py").write_text(textwrap.dedent("""
        import torch

        class Black:
            def generate(self, captions, seed=0):
                return torch.zeros(len(captions), 3, 32, 32, dtype=torch.uint8)

        def make(dataset, device="cpu"):
            return Black()

        def not_a_generator(dataset, device="cpu"):
            return object()
    """))
    if with_dist_info:
        info = tmp_path / "myplugin-0.1.dist-info"
        info.mkdir()
        (info / "METADATA").write_text("Metadata-Version: 2.1\nName: myplugin\nVersion: 0.1\n")
        (info / "entry_points.txt").write_text("[t2ibench.generators]\nblack-plugin = myplugin:make\n")


def test_module_callable_string(tmp_path, monkeypatch):
    _write_plugin(tmp_path, with_dist_info=False)
    monkeypatch.syspath_prepend(str(tmp_path))
    gen = load_generator("myplugin:make", dataset=ToyDataset(5))
    assert gen.generate(["a", "b"]).shape == (2, 3, 32, 32)
    with pytest.raises(TypeError, match="no generate"):
        load_generator("myplugin:not_a_generator", dataset=ToyDataset(5))
    with pytest.raises(ValueError, match="has no attribute 'missing'"):
        get_generator_factory("myplugin:missing")
    with pytest.raises(ValueError, match="no module 'no_such_module_xyz' in the current directory.*no_such_module_xyz.py:make"):
        get_generator_factory("no_such_module_xyz:make")


def test_installed_entry_point(tmp_path, monkeypatch):
    """A real distribution's entry point (a dist-info folder on sys.path), found by importlib.metadata."""
    _write_plugin(tmp_path, with_dist_info=True)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("myplugin", None)
    assert "black-plugin" in list_generators()
    assert load_generator("black-plugin", dataset=ToyDataset(5)).generate(["a"]).sum() == 0
