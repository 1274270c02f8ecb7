"""Plug-in generators as a new user meets them (issue 10): file plug-ins, the fingerprint that
keeps an edited plug-in from being scored with its old images, one-line failures, Ctrl-C."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
import torch

from toy import ToyDataset
from t2ibench import evaluate
from t2ibench.cli import main
from t2ibench.registry import PluginError

PLUGIN = textwrap.dedent('''
    import torch
    from plugin_settings import LEVEL

    class Flat:
        def __init__(self, size):
            self.size = size

        def generate(self, captions, seed=0):
            return torch.full((len(captions), 3, self.size, self.size), LEVEL, dtype=torch.uint8)

    def make(dataset, device="cpu"):
        return Flat(dataset.image_size)
''')


def _plugin(folder, level=0, body=PLUGIN):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin_settings.py").write_text(f"LEVEL = {level}\n")
    (folder / "flatgen.py").write_text(body)
    sys.modules.pop("plugin_settings", None)
    return folder / "flatgen.py"


ARGS = ["--dataset", "shapes", "--metrics", "ssim", "--n-images", "20", "--no-progress"]


@pytest.fixture(autouse=True)
def _no_debug(monkeypatch):
    monkeypatch.delenv("T2IBENCH_DEBUG", raising=False)


def test_file_plugin_from_another_directory_and_module_plugin_from_cwd(tmp_path, monkeypatch, capsys):
    _plugin(tmp_path / "plug")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert main(["eval", "--generator", "../plug/flatgen.py:make", "--out", str(tmp_path / "a"), *ARGS]) == 0
    monkeypatch.chdir(tmp_path / "plug")  # 'module:callable' next to the module, no PYTHONPATH
    sys.modules.pop("flatgen", None)
    assert main(["eval", "--generator", "flatgen:make", "--out", str(tmp_path / "b"), *ARGS]) == 0
    out = capsys.readouterr().out
    assert out.count("ssim") == 2


def test_an_edited_plugin_is_never_scored_with_its_old_images(tmp_path, monkeypatch, capsys, shapes_test):
    """The issue's stale FID: same command, generator edited in between."""
    path = _plugin(tmp_path / "plug", level=0)
    cmd = ["eval", "--generator", f"{path}:make", "--out", str(tmp_path / "run"), *ARGS]
    assert main(cmd) == 0
    first = capsys.readouterr()
    assert "reading back" not in first.err
    assert main(cmd) == 0  # unchanged: the kept images are read back, and the run says so
    again = capsys.readouterr()
    assert "reading back 1 of 1 shard(s) (20 images)" in again.err and str(tmp_path / "run") in again.err
    assert "read back from" in again.out
    _plugin(tmp_path / "plug", level=200, body=PLUGIN.replace("LEVEL, dtype", "LEVEL , dtype"))
    assert main(cmd) == 2  # edited: refused, never the old number
    err = capsys.readouterr().err
    assert "another run" in err and "generator_fingerprint" in err and "Traceback" not in err


def test_a_plugin_that_only_changes_a_weights_file_is_told_apart(tmp_path):
    from t2ibench.generators.fingerprint import generator_fingerprint

    weights = tmp_path / "w.bin"
    weights.write_bytes(b"one")

    class Weighted:
        def __init__(self):
            self.weights, self.net = str(weights), torch.nn.Linear(2, 2)

        def generate(self, captions, seed=0):
            raise NotImplementedError

    gen = Weighted()
    a = generator_fingerprint(gen)
    weights.write_bytes(b"two")
    b = generator_fingerprint(gen)
    with torch.no_grad():
        gen.net.weight.add_(1)
    c = generator_fingerprint(gen)
    assert a["files_sha256"] != b["files_sha256"] and b["modules_sha256"] != c["modules_sha256"]
    declared = type("Declared", (), {"fingerprint": "v7", "generate": lambda self, c, seed=0: None})()
    assert generator_fingerprint(declared) == "v7"


def test_a_device_setting_counts_by_its_type_so_torchrun_ranks_agree():
    """Each torchrun rank builds the plug-in on its own cuda:LOCAL_RANK; the ranks' fingerprints must agree
    (distributed.check_same compares them), while a CPU and a CUDA run stay apart."""
    from t2ibench.generators.fingerprint import generator_fingerprint

    class OnDevice:
        def __init__(self, device):
            self.device = device

        def generate(self, captions, seed=0):
            raise NotImplementedError

    rank0, rank1, cpu = (generator_fingerprint(OnDevice(d)) for d in ("cuda:0", "cuda:1", "cpu"))
    assert rank0 == rank1 == generator_fingerprint(OnDevice("cuda")) != cpu


def test_a_generator_without_source_is_not_read_back_unless_allowed(tmp_path, capsys):
    toy = ToyDataset(20)
    cls = type("NoSource", (), {"generate": lambda self, c, seed=0: torch.zeros(len(c), 3, 32, 32, dtype=torch.uint8)})
    cls.__module__ = "not_an_importable_module"  # as a class typed into an interactive session
    kw = dict(metrics=["ssim"], progress=False, image_dir=tmp_path / "images", generator_name="nosource")
    first = evaluate(cls(), toy, **kw)
    with pytest.raises(ValueError, match="no fingerprint.*--reuse-images"):
        evaluate(cls(), toy, **kw)
    assert evaluate(cls(), toy, reuse_images=True, **kw).metrics["ssim"]["value"] == first.metrics["ssim"]["value"]


RAISING = textwrap.dedent('''
    import torch

    class Boom:
        def generate(self, captions, seed=0):
            if seed >= {at}:
                raise {exc}
            return torch.zeros(len(captions), 3, 64, 64, dtype=torch.uint8)

    def make(dataset, device="cpu"):
        return Boom()
''')


def test_a_raising_plugin_ends_in_one_line_and_traceback_shows_it(tmp_path, capsys):
    path = tmp_path / "boom.py"
    path.write_text(RAISING.format(at=0, exc='RuntimeError("CUDA out of memory")'))
    cmd = ["eval", "--generator", f"{path}:make", "--out", str(tmp_path / "run"), *ARGS]
    assert main(cmd) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "RuntimeError: CUDA out of memory" in err and "boom.py:make" in err and "--traceback" in err
    with pytest.raises(PluginError) as info:
        main(cmd + ["--traceback"])
    assert isinstance(info.value.__cause__, RuntimeError)


def test_ctrl_c_ends_in_one_line_and_the_rerun_resumes(tmp_path, capsys):
    path = tmp_path / "slow.py"
    path.write_text(RAISING.format(at=10, exc="KeyboardInterrupt"))
    cmd = ["eval", "--generator", f"{path}:make", "--out", str(tmp_path / "run"), "--dataset", "shapes",
           "--metrics", "ssim", "--n-images", "20", "--shard-size", "10", "--batch-size", "10", "--no-progress"]
    assert main(cmd) == 130
    err = capsys.readouterr().err.strip()
    assert err.splitlines()[-1].startswith("interrupted (Ctrl-C)") and "Traceback" not in err
    assert "rerun the same command to resume" in err and str(tmp_path / "run" / "images") in err
    path.write_text(RAISING.format(at=10, exc="KeyboardInterrupt").replace("seed >= 10", "seed >= 10**9"))
    # the file changed, so its fingerprint did: the kept shard is refused, not silently reused
    assert main(cmd) == 2 and "another run" in capsys.readouterr().err


def test_an_unwritable_out_is_an_error_before_any_work(tmp_path, capsys):
    path = _plugin(tmp_path / "plug")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    log = tmp_path / "calls"
    counting = PLUGIN.replace("        return torch.full", f"        open({str(log)!r}, 'a').write('x')\n"
                                                        "        return torch.full")
    _plugin(tmp_path / "plug", body=counting)
    code = main(["eval", "--generator", f"{path}:make", "--out", str(blocker / "out"), "--no-images", *ARGS])
    err = capsys.readouterr().err
    assert code == 2 and "--out" in err and "cannot write there" in err
    assert not log.exists()  # nothing was generated


def test_version_and_help_do_not_import_torch(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.startswith("t2ibench ")
    code = ("import sys\nfrom t2ibench.cli import main\n"
            "for argv in (['--help'], ['eval', '--help'], ['--version']):\n"
            "    try:\n        main(argv)\n    except SystemExit:\n        pass\n"
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"


def test_metrics_as_one_comma_separated_string():
    toy = ToyDataset(60)
    a = evaluate("noise", toy, metrics="ssim, fid@toy", progress=False)
    b = evaluate("noise", toy, metrics=["ssim", "fid@toy"], progress=False)
    assert list(a.metrics) == ["ssim", "fid@toy"] and a.metrics == b.metrics
