"""Every public boundary against bad input, in one table (issue 5.1).

Each row calls a boundary (a library function, the engine, a loader, a generator's output,
the CLI) with one kind of bad input and states the exception and the words its message must
contain: what was wrong, where (the argument, file or generator), and what was expected.
The CLI rows also check that the error is an ``error:`` message with exit status 2 and no
traceback.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from toy import ToyDataset
from t2ibench import evaluate, metrics
from t2ibench.data import load_dataset
from t2ibench.data.image_files import read_caption_file
from t2ibench.data.safe_pickle import load_filenames
from t2ibench.data.tokenizer import Tokenizer
from t2ibench.evaluators.checkpoint import load_state
from t2ibench.features import load_extractor
from t2ibench.generators.base import generate_checked
from t2ibench.registry import load_generator

IMG = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
FEATS = np.random.default_rng(0).normal(size=(60, 8))


class Returns:
    """A generator that returns ``out(captions)``: the wrong-output rows."""

    def __init__(self, out):
        self.out = out

    def generate(self, captions, seed=0):
        return self.out(captions)


def _toy_eval(**kw):
    args = {"generator": "noise", "dataset": ToyDataset(60), "metrics": ["fid@toy"], "n_images": 60,
            "progress": False}
    args.update(kw)
    return evaluate(args.pop("generator"), args.pop("dataset"), **args)


def _file(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


class _Evil:
    def __reduce__(self):
        return (print, ("pwned",))


# (id, call(tmp_path), exception, words the message must contain)
CASES = [
    # -- plug-ins, folders of images, extractors (issue 10) ----------------------------------------
    ("metrics-not-names", lambda t: _toy_eval(metrics=[3]), ValueError, ["metrics", "metric names"]),
    ("plan-and-n-images", lambda t: _toy_eval(n_images=5, plan=[]), ValueError, ["n_images", "plan"]),
    ("known-weights-unknown-extractor", lambda t: __import__("t2ibench.features", fromlist=["x"]).known_weights(
        "no-such"), ValueError, ["unknown feature extractor", "no-such"]),
    ("damsm-coco-untrained", lambda t: load_extractor("damsm", dataset="coco"), ValueError,
     ["--dataset coco", "damsm-coco.safetensors"]),
    ("captions-file-missing", lambda t: __import__("t2ibench.generators.image_folder", fromlist=["x"])
     .read_captions_file(t / "none.csv"), ValueError, ["--captions", "no such file", "CSV or JSONL"]),
    ("captions-jsonl-not-object", lambda t: __import__("t2ibench.generators.image_folder", fromlist=["x"])
     .read_captions_file(_file(t, "c.jsonl", b"[1, 2]\n")), ValueError, ["line 1", "JSON object", "list"]),
    # -- images given to metric functions ---------------------------------------------------------
    ("images-not-a-tensor", lambda t: metrics.ssim([[1, 2]], IMG), TypeError, ["x", "torch.Tensor", "list"]),
    ("images-rank-3", lambda t: metrics.ssim(IMG[0], IMG[0]), ValueError, ["x", "4 dimensions", "(3, 32, 32)"]),
    ("fsim-4-channels", lambda t: metrics.fsim(IMG[:, :1].repeat(1, 4, 1, 1), IMG[:, :1].repeat(1, 4, 1, 1)),
     ValueError, ["x", "1 (grey) or 3 (RGB) channels", "(4, 4, 32, 32)"]),
    ("images-int32-dtype", lambda t: metrics.ssim(IMG.int(), IMG), TypeError, ["x", "dtype", "int32"]),
    ("images-out-of-range", lambda t: metrics.ssim(IMG.float() * 2, IMG), ValueError, ["x", "[0, 255", "510"]),
    ("images-nan", lambda t: metrics.ssim(IMG.float().index_put_((torch.tensor([0]),), torch.tensor(float("nan"))),
                                          IMG), ValueError, ["x", "NaN"]),
    ("images-empty-batch", lambda t: metrics.ssim(IMG[:0], IMG[:0]), ValueError, ["x", "empty"]),
    ("images-shape-mismatch", lambda t: metrics.ssim(IMG, IMG[:2]), ValueError, ["same shape", "(4, 3, 32, 32)",
                                                                               "(2, 3, 32, 32)"]),
    ("images-too-small-for-window", lambda t: metrics.ssim(IMG[..., :5, :5], IMG[..., :5, :5]), ValueError,
     ["5x5", "at least"]),
    ("fsim-too-small", lambda t: metrics.fsim(IMG[..., :4, :4], IMG[..., :4, :4]), ValueError, ["4x4", "at least"]),
    ("ms-ssim-nan", lambda t: metrics.ms_ssim(torch.full((2, 3, 64, 64), float("nan")), torch.zeros(2, 3, 64, 64)),
     ValueError, ["NaN"]),
    # -- features and statistics -----------------------------------------------------------------
    ("fd-dimension-mismatch", lambda t: metrics.frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4)),
     ValueError, ["dimension", "3", "4"]),
    ("fd-sigma-not-square", lambda t: metrics.frechet_distance(np.zeros(3), np.ones((3, 2)), np.zeros(3), np.eye(3)),
     ValueError, ["sigma1", "(3, 2)"]),
    ("fd-nan-mean", lambda t: metrics.frechet_distance(np.array([np.nan, 0, 0]), np.eye(3), np.zeros(3), np.eye(3)),
     ValueError, ["mu1", "NaN"]),
    ("gaussian-stats-one-row", lambda t: metrics.gaussian_statistics(FEATS[:1]), ValueError, ["at least 2"]),
    ("is-fewer-rows-than-splits", lambda t: metrics.inception_score(np.full((5, 10), 0.1), splits=10), ValueError,
     ["splits", "5"]),
    ("is-negative-probabilities", lambda t: metrics.inception_score(-np.ones((20, 10)), from_logits=False),
     ValueError, ["probabilities"]),
    ("is-inf-logits", lambda t: metrics.inception_score(np.full((20, 10), np.inf)), ValueError, ["NaN or Inf"]),
    ("kid-dimension-mismatch", lambda t: metrics.kid(FEATS, FEATS[:, :4]), ValueError, ["dimension"]),
    ("features-rank-1", lambda t: metrics.kid(FEATS[:, 0], FEATS), ValueError, ["2-d", "[N, D]"]),
    ("features-strings", lambda t: metrics.kid(np.array([["a", "b"], ["c", "d"]]), FEATS[:, :2]), TypeError,
     ["numeric"]),
    ("cmd-text-dimension-mismatch", lambda t: metrics.cmd(FEATS, FEATS, FEATS[:, :3]), ValueError, ["dimension"]),
    ("r-precision-count-mismatch", lambda t: metrics.r_precision_cpgan(FEATS, FEATS[:10]), ValueError,
     ["60", "10"]),
    ("rank-k-count-mismatch", lambda t: metrics.rank_k(FEATS, FEATS[:50]), ValueError, ["60", "50"]),
    ("clipscore-count-mismatch", lambda t: metrics.clip_score(FEATS, FEATS[:7]), ValueError, ["60", "7"]),
    # -- captions --------------------------------------------------------------------------------
    ("captions-empty-list", lambda t: generate_checked(Returns(lambda c: IMG), "g", [], 0),
     ValueError, ["captions", "no captions"]),
    ("caption-empty-string", lambda t: generate_checked(Returns(lambda c: IMG), "g", ["a", "  "], 0), ValueError,
     ["captions[1]", "empty"]),
    ("caption-not-str", lambda t: generate_checked(Returns(lambda c: IMG), "g", ["a", 3], 0), TypeError,
     ["captions[1]", "str", "int"]),
    ("caption-bytes", lambda t: generate_checked(Returns(lambda c: IMG), "g", ["a", b"b"], 0), TypeError,
     ["captions[1]", "bytes", "decode"]),
    ("caption-lone-surrogate", lambda t: generate_checked(Returns(lambda c: IMG), "g", ["a\udcff"], 0), ValueError,
     ["captions[0]", "UTF-8"]),
    ("captions-a-single-string", lambda t: generate_checked(Returns(lambda c: IMG), "g", "a caption", 0), TypeError,
     ["sequence of str", "str"]),
    ("tokenizer-not-str", lambda t: Tokenizer.build(["a b"]).encode(None), TypeError, ["caption", "NoneType"]),
    ("caption-file-not-utf8", lambda t: read_caption_file(_file(t, "c.txt", b"a red bird\n\xff\xfe bad\n")),
     ValueError, ["c.txt", "UTF-8", "line 2"]),
    ("caption-file-missing", lambda t: read_caption_file(t / "none.txt"), ValueError, ["none.txt", "not found"]),
    ("caption-file-empty", lambda t: read_caption_file(_file(t, "e.txt", b"\n \n")), ValueError,
     ["e.txt", "no caption"]),
    # -- generator outputs -----------------------------------------------------------------------
    ("generator-float-output", lambda t: generate_checked(Returns(lambda c: IMG[:len(c)].float()), "my-gan", ["a"], 0),
     TypeError, ["'my-gan'", "float32", "uint8"]),
    ("generator-wrong-count", lambda t: generate_checked(Returns(lambda c: IMG), "my-gan", ["a", "b"], 0), ValueError,
     ["'my-gan'", "4 images for 2 captions"]),
    ("generator-grey-images", lambda t: generate_checked(Returns(lambda c: IMG[:len(c), :1]), "my-gan", ["a"], 0),
     ValueError, ["'my-gan'", "(1, 1, 32, 32)", "[N, 3, H, W]"]),
    ("generator-returns-numpy", lambda t: generate_checked(Returns(lambda c: IMG[:len(c)].numpy()), "my-gan", ["a"],
                                                           0), TypeError, ["'my-gan'", "ndarray", "torch.Tensor"]),
    ("generator-size-changes-in-eval", lambda t: _toy_eval(generator=Returns(
        lambda c: torch.zeros(len(c), 3, 32 if c[0] == "a picture" else 16, 32, dtype=torch.uint8)),
        generator_name="my-gan", batch_size=1), ValueError, ["'my-gan'", "(3, 16, 32)", "(3, 32, 32)", "one size"]),
    ("generator-without-generate", lambda t: _toy_eval(generator=object()), TypeError, ["generate", "object"]),
    # -- the engine ------------------------------------------------------------------------------
    ("unknown-generator", lambda t: _toy_eval(generator="no-such-gan"), ValueError, ["no-such-gan", "known"]),
    ("unknown-metric", lambda t: _toy_eval(metrics=["fidd"]), ValueError, ["fidd", "known"]),
    ("unknown-extractor", lambda t: _toy_eval(metrics=["fid@nope"]), ValueError, ["nope", "known"]),
    ("unknown-dataset", lambda t: load_dataset("imagenet"), ValueError, ["imagenet", "known"]),
    ("n-images-zero", lambda t: _toy_eval(n_images=0), ValueError, ["n_images", "positive"]),
    ("fid-too-few-images", lambda t: _toy_eval(n_images=20), ValueError, ["'fid@toy'", "at least 50", "allow_small_n"]),
    ("batch-size-zero", lambda t: _toy_eval(batch_size=0), ValueError, ["batch_size", "positive"]),
    ("metrics-empty", lambda t: _toy_eval(metrics=[]), ValueError, ["metrics", "non-empty"]),
    ("dataset-wrong-type", lambda t: _toy_eval(dataset=42), TypeError, ["dataset", "int"]),
    # -- datasets, files, weights ----------------------------------------------------------------
    ("dataset-root-missing", lambda t: load_dataset("cub", root=t / "nowhere"), ValueError, ["nowhere"]),
    ("dataset-unknown-split", lambda t: load_dataset("shapes", split="validation"), ValueError,
     ["validation", "train", "test"]),
    ("dataset-image-size-too-small", lambda t: load_dataset("shapes", image_size=8), ValueError, ["image_size", "8"]),
    ("filenames-pickle-not-a-list", lambda t: load_filenames(_file(t, "f.pickle", pickle.dumps({"a": 1}))),
     ValueError, ["f.pickle", "list of file names", "dict"]),
    ("filenames-pickle-with-code", lambda t: load_filenames(_file(t, "f.pickle", pickle.dumps([_Evil()]))),
     ValueError, ["f.pickle", "'print'", "nothing was imported or run"]),
    ("filenames-escape-root", lambda t: load_filenames(_file(t, "f.pickle", pickle.dumps(["../../etc/passwd"]))),
     ValueError, ["f.pickle", ".."]),
    ("extractor-weights-missing", lambda t: load_extractor("damsm-shapes", weights=str(t / "w.safetensors")),
     ValueError, ["w.safetensors"]),
    ("weights-not-safetensors", lambda t: load_state(_file(t, "w.safetensors", b"garbage" * 10), what="damsm"),
     ValueError, ["w.safetensors", "damsm"]),
    ("zoo-weights-missing", lambda t: load_generator("attngan", weights=str(t / "g.safetensors")), ValueError,
     ["attngan", "g.safetensors"]),
]


@pytest.mark.parametrize("call, exception, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error(call, exception, words, tmp_path):
    with pytest.raises(exception) as info:
        call(tmp_path)
    message = str(info.value)
    missing = [w for w in words if w not in message]
    assert not missing, f"the message lacks {missing}: {message}"
    assert info.traceback[-1].path.name != "functional.py", "the error came from deep inside torch"


# (id, argv, words) — each must end in an 'error:' message, exit status 2
CLI_CASES = [
    ("unknown-generator", ["eval", "--generator", "no-such-gan"], ["no-such-gan", "known"]),
    ("unknown-metric", ["eval", "--generator", "noise", "--metrics", "fidd"], ["fidd", "known"]),
    ("bad-weights-option", ["eval", "--generator", "noise", "--weights", "damsm"], ["--weights", "EXTRACTOR=PATH"]),
    ("missing-inception-weights", ["eval", "--generator", "noise", "--metrics", "fid@inception-v3-compat",
                                   "--inception-weights", "/nonexistent/pt_inception.pth"], ["/nonexistent"]),
    ("cuda-without-gpu", ["eval", "--generator", "noise", "--device", "cuda"], ["CUDA", "--device cpu"]),
    ("weights-no-metric-reads", ["eval", "--generator", "noise", "--metrics", "r-precision", "--weights",
                                "damsm=text_encoder200.pth,captions.pickle"],
     ["--weights damsm=", "no metric of this run reads the extractor 'damsm' on shapes", "r-precision@damsm"]),
    ("bad-module-callable", ["eval", "--generator", "nosuchmodule:make"], ["nosuchmodule"]),
    ("data-root-missing", ["eval", "--generator", "noise", "--dataset", "cub", "--data-root", "/nonexistent/cub"],
     ["/nonexistent/cub"]),
    ("too-few-images", ["eval", "--generator", "noise", "--metrics", "fid", "--n-images", "10"],
     ["at least 50", "--allow-small-n"]),
    ("bad-shard-size", ["eval", "--generator", "noise", "--metrics", "ssim", "--n-images", "5", "--shard-size", "0"],
     ["--shard-size", ">= 1", "got 0"]),
    ("negative-seed", ["eval", "--generator", "noise", "--seed", "-1"], ["--seed", ">= 0", "got -1"]),
    ("seed-not-a-number", ["eval", "--generator", "noise", "--seed", "x"], ["--seed", "integer", "'x'"]),
    ("shapes-with-data-root", ["eval", "--generator", "noise", "--data-root", "/some/folder"],
     ["--data-root", "shapes", "generated"]),
    ("generator-and-images", ["eval", "--generator", "noise", "--images", "/x", "--captions", "/x.csv"],
     ["--generator", "--images", "not both"]),
    ("neither-generator-nor-images", ["eval", "--metrics", "ssim"], ["--generator", "--images"]),
    ("images-without-captions", ["eval", "--images", "/nonexistent/folder"], ["--captions", "go together"]),
    ("images-folder-missing", ["eval", "--images", "/nonexistent/folder", "--captions", "/nonexistent/c.csv"],
     ["--images", "/nonexistent/folder", "no such folder"]),
    ("plugin-file-missing", ["eval", "--generator", "/nonexistent/mygen.py:make"], ["/nonexistent/mygen.py",
                                                                                  "no such file"]),
    ("plugin-callable-missing", ["eval", "--generator", "t2ibench.generators.reference:no_such"],
     ["no_such", "no attribute"]),
]


@pytest.mark.parametrize("argv, words", [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_cli_bad_input_is_an_error_message(argv, words, tmp_path, capsys, monkeypatch):
    from t2ibench.cli import main

    if "cuda-without-gpu" in " ".join(argv) and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    monkeypatch.delenv("T2IBENCH_DEBUG", raising=False)
    code = main(argv + ["--out", str(tmp_path / "out"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("error: ") and "Traceback" not in err, err
    missing = [w for w in words if w not in err]
    assert not missing, f"the message lacks {missing}: {err}"
    assert not (tmp_path / "out" / "result.json").exists()


@pytest.mark.parametrize("extra", [["--table", "none", "--no-sanity"], ["--no-leaderboard", "--table", "ktgan-1"]])
def test_benchmark_weights_no_metric_reads_is_an_error_before_any_work(extra, tmp_path, benchmark_script, capsys):
    """The leaderboard, the tables and the sanity suite on shapes all read damsm-shapes, never the released 'damsm'."""
    argv = ["--weights", "damsm=text_encoder200.pth,captions.pickle", "--out", str(tmp_path / "out"),
            "--images-dir", str(tmp_path / "images"), "--no-progress", *extra]
    assert benchmark_script.main(argv) == 2
    err = capsys.readouterr().err
    assert "--weights damsm=" in err and "no metric of this run reads the extractor 'damsm' on shapes" in err
    assert "damsm-shapes" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "shapes").exists()  # nothing was measured
