"""Safe loading and writing (issue 5.4): names from input files cannot lead outside their folder,
user-given names cannot make t2ibench write outside the output folder, and a weights file that
carries the name of a file with a published sha256 must have that sha256."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

from t2ibench.io import path_inside, safe_filename, sha256_file


@pytest.mark.parametrize("relative", ["../x.jpg", "a/../../x.jpg", "/etc/passwd", "a/../..", "..\\..\\x" if os.sep == "\\"
                                      else "../../../../etc/shadow"])
def test_path_inside_refuses_ways_out(tmp_path, relative):
    with pytest.raises(ValueError, match="leads outside"):
        path_inside(tmp_path, relative, what="file_name")


def test_path_inside_refuses_a_symlink_out_and_accepts_plain_names(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "link").symlink_to(outside)
    with pytest.raises(ValueError, match="symbolic link"):
        path_inside(root, "link/secret.txt")
    assert path_inside(root, "link/image.jpg", follow_symlinks=True) == root / "link" / "image.jpg"  # datasets
    assert path_inside(root, "sub/a.jpg") == root / "sub" / "a.jpg"
    assert path_inside(root, "a..b.jpg") == root / "a..b.jpg"  # dots inside a name are not '..'


@pytest.mark.parametrize("name, expected", [
    ("attngan", "attngan"), ("stackgan++", "stackgan++"), ("mypkg.mod:make", "mypkg.mod_make"),
    ("../../etc/evil", "_.._etc_evil"), ("/abs/path", "_abs_path"), ("..", None), ("a b\nc", "a_b_c"),
])
def test_safe_filename_stays_one_name(name, expected):
    if expected is None:
        with pytest.raises(ValueError, match="cannot make a file name"):
            safe_filename(name)
        return
    out = safe_filename(name)
    assert out == expected and "/" not in out and not out.startswith(".")


def test_benchmark_writes_a_hostile_generator_name_inside_the_output_folder(tmp_path, monkeypatch, benchmark_script,
                                                                           capsys):
    """A generator registered under a name with ``..`` and ``/`` gets its result, samples and images
    inside ``--out`` and ``--images-dir``; at n = 8 the FID/KID-against-n picture is skipped with a reason, not
    an error after the leaderboard was written."""
    from t2ibench.generators.reference import UniformNoise
    from t2ibench.registry import GENERATORS

    name = "../../../escaped/gan"  # from <out>/shapes/results/ this would be <out>/../escaped/gan.json
    monkeypatch.setitem(GENERATORS._items, name, lambda dataset=None, device="cpu": UniformNoise(64))
    out, images = tmp_path / "run" / "lb", tmp_path / "run" / "img"
    code = benchmark_script.main(["--generators", name, "--metrics", "ssim", "--n-images", "8", "--no-sanity",
                           "--table", "none", "--no-progress", "--out", str(out), "--images-dir", str(images), "--device", "cpu"])
    assert code == 0
    assert "fid/kid against n skipped: the run's n (8) is below FID's minimum of 50 images" in capsys.readouterr().out
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written and all(p.resolve().is_relative_to(out.resolve()) or p.resolve().is_relative_to(images.resolve())
                           for p in written), written
    assert (out / "shapes" / "results" / "_.._.._escaped_gan.json").is_file()


def test_coco_file_name_cannot_lead_outside_the_image_folder(tmp_path):
    from t2ibench.data import load_dataset

    (tmp_path / "annotations").mkdir()
    (tmp_path / "val2017").mkdir()
    (tmp_path / "secret.jpg").write_bytes(b"not for you")
    captions = {"images": [{"id": 1, "file_name": "../secret.jpg", "width": 64, "height": 64}],
                "annotations": [{"id": 1, "image_id": 1, "caption": "a secret"}]}
    (tmp_path / "annotations" / "captions_val2017.json").write_text(json.dumps(captions))
    with pytest.raises(ValueError, match=r"file_name '\.\./secret\.jpg' leads outside"):
        load_dataset("coco", split="test", root=tmp_path)


def test_clip_file_with_a_published_name_must_have_its_sha256(tmp_path):
    from t2ibench.features.clip import known_clip_sha256, load_clip

    assert known_clip_sha256("ViT-B-32.pt") == "40d365715913c9da98579312b702a82c18be219cc2a73407c4526f58eba950af"
    assert known_clip_sha256("open_clip_pytorch_model.bin") is None
    fake = tmp_path / "ViT-B-32.pt"
    torch.save({"visual.proj": torch.zeros(2, 2)}, fake)
    with pytest.raises(ValueError, match=r"ViT-B-32\.pt' has the name of a known file but not its content: "
                                         r"expected sha256 40d36571"):
        load_clip("ViT-B-32", pretrained=fake)
    renamed = fake.rename(tmp_path / "my-clip.pt")  # no published hash: read, and refused for what it holds
    with pytest.raises(ValueError, match="do not fit|missing|Missing|unexpected|Unexpected"):
        load_clip("ViT-B-32", pretrained=renamed)


def test_inception_file_with_a_published_name_must_have_its_sha256(tmp_path):
    from t2ibench.features.inception import TORCH_FIDELITY_FILE, verify_known_hash

    fake = tmp_path / TORCH_FIDELITY_FILE
    fake.write_bytes(b"truncated download")
    with pytest.raises(ValueError, match="has the name of a known file but not its content: expected sha256 6726825d"):
        verify_known_hash(fake)
    other = tmp_path / "my-inception.pth"
    other.write_bytes(b"anything")
    assert verify_known_hash(other) == sha256_file(other)  # no published hash for this name: accepted, hashed


def test_shared_torchscript_inception_passes_its_published_hash(shared_dir):
    from t2ibench.features.inception import verify_known_hash

    path = Path(shared_dir) / "weights" / "inception-2015-12-05-pool3.torchscript.pt"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    assert verify_known_hash(path).startswith("7ff4a85c")
