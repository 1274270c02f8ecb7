"""StackGAN's fine-tuned Inception for IS: the TF-checkpoint converter, the ``inception-birds`` /
``inception-flowers`` extractors, and StackGAN's IS convention (``is-stackgan``).

No released file can be downloaded, so the tests build files in the released formats with random
values: a dict of arrays named and shaped as the variables of StackGAN's TF-slim checkpoint (written
here from tensorflow/models ``inception/inception/slim/inception_model.py`` and ``slim/ops.py``, with
the EMA shadows, RMSProp slots and ``global_step`` a training checkpoint holds), and torchvision
``inception_v3`` state dicts with N and N + 1 classes. Outputs are compared with independent
references built here: a float64 forward pass of the TF-slim graph written from that source (TF's
SAME average pools, BatchNorm without gamma, eps 0.001), torchvision's own ``inception_v3``, and
StackGAN's ``get_inception_score`` written out in float64 numpy.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from t2ibench.features import load_extractor
from t2ibench.features.inception_stackgan import preprocess
from t2ibench.tools import convert_stackgan_inception as conv
from hostile import TouchOnLoad

EMA = "/ExponentialMovingAverage"


# ---------------------------------------------------------------------------------------------
# The TF-slim graph, written from inception_model.py: variables (names, shapes) and a float64 forward
# ---------------------------------------------------------------------------------------------

class SlimInceptionV3:
    """tensorflow/models' slim ``inception_v3(num_classes)`` in float64 torch ops, NCHW.

    Variables are created (random) on first use under the names ``ops.conv2d`` / ``ops.fc`` give
    them: ``<scope>/weights`` ``[kh, kw, in, out]``, ``<scope>/BatchNorm/{beta,moving_mean,moving_variance}``,
    unnamed convolutions ``Conv``, ``Conv_1``, ... per variable scope; fc ``weights`` ``[in, out]``, ``biases``."""

    def __init__(self, num_classes: int, seed: int = 0):
        self.num_classes = num_classes
        self.rng = np.random.default_rng(seed)
        self.vars: dict[str, np.ndarray] = {}
        self._counts: dict[str, int] = {}

    def _var(self, name, shape, kind):
        if name not in self.vars:
            r = self.rng
            if kind == "w":
                fan_in = int(np.prod(shape[:-1]))
                v = r.standard_normal(shape) * math.sqrt(2.0 / fan_in)
            elif kind == "var":
                v = r.uniform(0.5, 1.5, shape)
            else:
                v = r.standard_normal(shape) * 0.1
            self.vars[name] = v.astype(np.float32)
        assert self.vars[name].shape == tuple(shape), name
        return torch.from_numpy(self.vars[name].astype(np.float64))

    def conv(self, x, scope, cout, k, stride=1, padding="SAME", name=None):
        if name is None:  # tf.variable_scope(None, 'Conv'): Conv, Conv_1, Conv_2, ...
            i = self._counts.get(scope, 0)
            self._counts[scope] = i + 1
            name = "Conv" if i == 0 else f"Conv_{i}"
        full = f"{scope}/{name}" if scope else name
        kh, kw = k
        w = self._var(full + "/weights", (kh, kw, x.shape[1], cout), "w").permute(3, 2, 0, 1)
        pad = (0, 0) if padding == "VALID" else ((kh - 1) // 2, (kw - 1) // 2)  # odd kernels, stride 1
        y = F.conv2d(x, w, stride=stride, padding=pad)
        beta = self._var(full + "/BatchNorm/beta", (cout,), "b")
        mean = self._var(full + "/BatchNorm/moving_mean", (cout,), "b")
        var = self._var(full + "/BatchNorm/moving_variance", (cout,), "var")
        y = (y - mean.view(1, -1, 1, 1)) / torch.sqrt(var.view(1, -1, 1, 1) + 0.001) + beta.view(1, -1, 1, 1)
        return torch.relu(y)

    def fc(self, x, scope, n):
        w = self._var(scope + "/weights", (x.shape[1], n), "w")
        return x @ w + self._var(scope + "/biases", (n,), "b")

    @staticmethod
    def avg_same(x):  # TF's SAME average pool: padding not counted
        return F.avg_pool2d(x, 3, 1, 1, count_include_pad=False)

    def forward(self, x):
        """float64 ``[N, 3, 299, 299]`` -> (logits ``[N, num_classes]``, aux logits)."""
        c = self.conv
        x = c(x, "", 32, (3, 3), 2, "VALID", name="conv0")
        x = c(x, "", 32, (3, 3), 1, "VALID", name="conv1")
        x = c(x, "", 64, (3, 3), 1, "SAME", name="conv2")
        x = F.max_pool2d(x, 3, 2)
        x = c(x, "", 80, (1, 1), 1, "VALID", name="conv3")
        x = c(x, "", 192, (3, 3), 1, "VALID", name="conv4")
        x = F.max_pool2d(x, 3, 2)
        for scope, pool_out in (("mixed_35x35x256a", 32), ("mixed_35x35x288a", 64), ("mixed_35x35x288b", 64)):
            b1 = c(x, scope + "/branch1x1", 64, (1, 1))
            b5 = c(c(x, scope + "/branch5x5", 48, (1, 1)), scope + "/branch5x5", 64, (5, 5))
            b3 = c(x, scope + "/branch3x3dbl", 64, (1, 1))
            b3 = c(c(b3, scope + "/branch3x3dbl", 96, (3, 3)), scope + "/branch3x3dbl", 96, (3, 3))
            bp = c(self.avg_same(x), scope + "/branch_pool", pool_out, (1, 1))
            x = torch.cat([b1, b5, b3, bp], 1)
        s = "mixed_17x17x768a"
        b3 = c(x, s + "/branch3x3", 384, (3, 3), 2, "VALID")
        bd = c(c(x, s + "/branch3x3dbl", 64, (1, 1)), s + "/branch3x3dbl", 96, (3, 3))
        bd = c(bd, s + "/branch3x3dbl", 96, (3, 3), 2, "VALID")
        x = torch.cat([b3, bd, F.max_pool2d(x, 3, 2)], 1)
        for s, w in (("mixed_17x17x768b", 128), ("mixed_17x17x768c", 160), ("mixed_17x17x768d", 160),
                     ("mixed_17x17x768e", 192)):
            b1 = c(x, s + "/branch1x1", 192, (1, 1))
            b7 = c(x, s + "/branch7x7", w, (1, 1))
            b7 = c(c(b7, s + "/branch7x7", w, (1, 7)), s + "/branch7x7", 192, (7, 1))
            bd = c(x, s + "/branch7x7dbl", w, (1, 1))
            for cout, k in ((w, (7, 1)), (w, (1, 7)), (w, (7, 1)), (192, (1, 7))):
                bd = c(bd, s + "/branch7x7dbl", cout, k)
            bp = c(self.avg_same(x), s + "/branch_pool", 192, (1, 1))
            x = torch.cat([b1, b7, bd, bp], 1)
        a = F.avg_pool2d(x, 5, 3)  # aux head: avg_pool 5x5 stride 3 VALID, proj, conv with the map's size, fc
        a = c(a, "aux_logits", 128, (1, 1), name="proj")
        a = c(a, "aux_logits", 768, tuple(a.shape[2:]), 1, "VALID")
        aux = self.fc(a.flatten(1), "aux_logits/FC", self.num_classes)
        s = "mixed_17x17x1280a"
        b3 = c(c(x, s + "/branch3x3", 192, (1, 1)), s + "/branch3x3", 320, (3, 3), 2, "VALID")
        b7 = c(x, s + "/branch7x7x3", 192, (1, 1))
        b7 = c(c(b7, s + "/branch7x7x3", 192, (1, 7)), s + "/branch7x7x3", 192, (7, 1))
        b7 = c(b7, s + "/branch7x7x3", 192, (3, 3), 2, "VALID")
        x = torch.cat([b3, b7, F.max_pool2d(x, 3, 2)], 1)
        for s in ("mixed_8x8x2048a", "mixed_8x8x2048b"):
            b1 = c(x, s + "/branch1x1", 320, (1, 1))
            b3 = c(x, s + "/branch3x3", 384, (1, 1))
            b3 = torch.cat([c(b3, s + "/branch3x3", 384, (1, 3)), c(b3, s + "/branch3x3", 384, (3, 1))], 1)
            bd = c(c(x, s + "/branch3x3dbl", 448, (1, 1)), s + "/branch3x3dbl", 384, (3, 3))
            bd = torch.cat([c(bd, s + "/branch3x3dbl", 384, (1, 3)), c(bd, s + "/branch3x3dbl", 384, (3, 1))], 1)
            bp = c(self.avg_same(x), s + "/branch_pool", 192, (1, 1))
            x = torch.cat([b1, b3, bd, bp], 1)
        x = F.avg_pool2d(x, tuple(x.shape[2:])).flatten(1)  # logits/pool (8x8 VALID); dropout is identity
        self._counts.clear()
        return self.fc(x, "logits/logits", self.num_classes), aux


def _images(n=2, size=299, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 8, 8, generator=g) * 255
    return F.interpolate(low, size=size, mode="bilinear", align_corners=False).round().to(torch.uint8)


def _checkpoint(ref: SlimInceptionV3) -> dict[str, np.ndarray]:
    """A training checkpoint as StackGAN's: raw values (not the ones evaluated), their EMA shadows
    (the network's values), RMSProp slots and global_step."""
    ckpt = {"global_step": np.array(5000, dtype=np.int64)}
    for name, v in ref.vars.items():
        ckpt[name + EMA] = v
        ckpt[name] = v + np.float32(1.0)
        ckpt[name + "/RMSProp"] = ckpt[name + "/RMSProp_1"] = np.full(v.shape, 0.5, np.float32)
    return ckpt


@pytest.fixture(scope="module")
def slim_birds():
    """The reference graph with 51 outputs run on two 299x299 images: (ref, images, logits, aux, mixed_6e input)."""
    ref = SlimInceptionV3(num_classes=51)
    images = _images()
    x = images.double() / 127.5 - 1.0
    logits, aux = ref.forward(x)
    return ref, images, logits, aux


@pytest.fixture(scope="module")
def birds_ckpt(slim_birds) -> dict[str, np.ndarray]:
    return _checkpoint(slim_birds[0])


@pytest.fixture(scope="module")
def converted(birds_ckpt, tmp_path_factory) -> Path:
    state = conv.tf_to_torchvision(birds_ckpt, 50, where="model.ckpt-5000")
    return conv.save_converted(state, tmp_path_factory.mktemp("w") / "inception-birds.safetensors", 50,
                               "model.ckpt-5000")


# ---------------------------------------------------------------------------------------------
# The converter: names and shapes (no TensorFlow), errors, CLI
# ---------------------------------------------------------------------------------------------

def test_variable_spec_matches_the_slim_graph(slim_birds):
    ref = slim_birds[0]
    spec = conv.tf_variable_spec(50)
    assert set(spec) == set(ref.vars)  # 96 convolutions x 4 + 2 classifiers x 2
    assert len(spec) == 388
    assert {k: tuple(v.shape) for k, v in ref.vars.items()} == spec
    assert spec["logits/logits/weights"] == (2048, 51) and spec["aux_logits/Conv/weights"] == (5, 5, 128, 768)
    assert spec["mixed_8x8x2048b/branch3x3dbl/Conv_3/weights"] == (3, 1, 384, 384)


def test_mapping_uses_the_moving_averages_and_drops_the_background(slim_birds, birds_ckpt):
    ref = slim_birds[0]
    state = conv.tf_to_torchvision(birds_ckpt, 50)
    v = ref.vars
    np.testing.assert_array_equal(state["Mixed_6b.branch7x7_2.conv.weight"],
                                  v["mixed_17x17x768b/branch7x7/Conv_1/weights"].transpose(3, 2, 0, 1))
    np.testing.assert_array_equal(state["Mixed_7c.branch3x3dbl_3b.bn.running_var"],
                                  v["mixed_8x8x2048b/branch3x3dbl/Conv_3/BatchNorm/moving_variance"])
    np.testing.assert_array_equal(state["Conv2d_1a_3x3.bn.bias"], v["conv0/BatchNorm/beta"])
    np.testing.assert_array_equal(state["Conv2d_1a_3x3.bn.weight"], np.ones(32, np.float32))
    np.testing.assert_array_equal(state["fc.weight"], v["logits/logits/weights"][:, 1:].T)
    np.testing.assert_array_equal(state["fc.bias"], v["logits/logits/biases"][1:])
    np.testing.assert_array_equal(state["AuxLogits.conv0.conv.weight"],
                                  v["aux_logits/proj/weights"].transpose(3, 2, 0, 1))
    assert state["AuxLogits.fc.weight"].shape == (50, 768)
    assert all(a.dtype == np.float32 and a.flags["C_CONTIGUOUS"] for a in state.values())


@pytest.mark.parametrize("damage, message", [
    (lambda c: c.pop("mixed_35x35x256a/branch5x5/Conv_1/weights" + EMA), "without their moving average"),
    (lambda c: c.update({"conv0/BatchNorm/gamma": np.ones(32, np.float32)}), "does not have"),
    (lambda c: c.update({"conv3/weights" + EMA: np.zeros((1, 1, 64, 81), np.float32)}), "shapes differ"),
])
def test_mapping_refuses_damaged_checkpoints(birds_ckpt, damage, message):
    ckpt = dict(birds_ckpt)
    damage(ckpt)
    with pytest.raises(ValueError, match=message) as e:
        conv.tf_to_torchvision(ckpt, 50, where="birds/model.ckpt")
    assert str(e.value).startswith("birds/model.ckpt: ")


def test_wrong_class_count_says_what_classes_means(birds_ckpt):
    with pytest.raises(ValueError, match=r"--classes 20 means 21 outputs .*background class 0") as e:
        conv.tf_to_torchvision(birds_ckpt, 20)
    assert "(2048, 51)" in str(e.value)


def test_cli_help_and_missing_tensorflow(tmp_path, capsys, monkeypatch):
    with pytest.raises(SystemExit) as e:
        conv.main(["--help"])
    assert e.value.code == 0 and "--classes" in capsys.readouterr().out
    import builtins

    real_import = builtins.__import__

    def no_tf(name, *a, **k):
        if name == "tensorflow" or name.startswith("tensorflow."):
            raise ImportError("No module named 'tensorflow'")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_tf)
    assert conv.main(["model.ckpt", "--classes", "50", "--out", str(tmp_path / "o.safetensors")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: reading a TensorFlow checkpoint needs TensorFlow") and "t2ibench[tf]" in err
    assert not (tmp_path / "o.safetensors").exists()


def test_cli_writes_the_file_that_loads(birds_ckpt, tmp_path, monkeypatch, capsys):
    ckpt = birds_ckpt
    monkeypatch.setattr(conv, "read_tf_checkpoint", lambda path: ckpt)  # TF's reader is the only untested part
    out = tmp_path / "birds.safetensors"
    assert conv.main(["x/model.ckpt-5000", "--classes", "50", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "388 variables" in printed and f"{len(ckpt) - 388} other checkpoint entries ignored" in printed
    from safetensors import safe_open

    with safe_open(str(out), framework="pt") as f:
        assert f.metadata() == {"format": "stackgan-inception-v3", "pooling": "tf-same", "classes": "50",
                                "source": "model.ckpt-5000"}
        assert len(list(f.keys())) == 484  # 96 convolutions x 5 + 2 classifiers x 2


def test_reading_a_real_tf_checkpoint(tmp_path):
    """Only where TensorFlow is installed: a TF1-style checkpoint with the released variable names."""
    tf = pytest.importorskip("tensorflow")
    ref = SlimInceptionV3(num_classes=21)
    ref.forward(torch.zeros(1, 3, 299, 299, dtype=torch.float64))
    ckpt = _checkpoint(ref)
    graph = tf.Graph()
    with graph.as_default():
        variables = [tf.compat.v1.Variable(v, name=k) for k, v in ckpt.items()]
        saver = tf.compat.v1.train.Saver(variables)
        with tf.compat.v1.Session(graph=graph) as sess:
            sess.run(tf.compat.v1.global_variables_initializer())
            prefix = saver.save(sess, str(tmp_path / "model.ckpt"))
    read = conv.read_tf_checkpoint(prefix)
    assert set(read) == set(ckpt)
    expected = conv.tf_to_torchvision(ckpt, 20)
    got = conv.tf_to_torchvision(read, 20)
    assert all(np.array_equal(got[k], expected[k]) for k in expected)


# ---------------------------------------------------------------------------------------------
# The extractors
# ---------------------------------------------------------------------------------------------

def test_converted_file_equals_the_tf_slim_graph(slim_birds, converted):
    ref, images, logits, aux = slim_birds
    ex = load_extractor("inception-birds", weights=str(converted))
    assert ex.outputs == ("logits",) and ex.roles == {"logits": "logits"} and ex.tf_pooling
    got = ex(images)["logits"].double()
    expected = logits[:, 1:]  # StackGAN: softmax over the logits without the background output 0
    assert got.shape == (2, 50)
    scale = expected.abs().max().item()
    assert (got - expected).abs().max().item() < 1e-4 * scale
    np.testing.assert_allclose(torch.softmax(got, 1).numpy(), torch.softmax(expected, 1).numpy(), atol=1e-5)
    # the auxiliary head maps too (not used by IS): run it on Mixed_6e's output
    seen = {}
    ex.net.Mixed_6e.register_forward_hook(lambda m, i, o: seen.setdefault("x", o))
    ex(images)
    aux_got = ex.net.AuxLogits(seen["x"]).double()
    assert (aux_got - aux[:, 1:]).abs().max().item() < 1e-4 * aux.abs().max().item()
    described = ex.describe()
    assert described["classes"] == 50 and described["pooling"].startswith("tf-same")


def test_converted_file_is_refused_as_flowers(converted):
    with pytest.raises(ValueError, match=r"'fc.weight' has 50 outputs, expected 20 or 21"):
        load_extractor("inception-flowers", weights=str(converted))


def _torchvision_net(num_classes: int, seed: int = 0):
    from torchvision.models import inception_v3

    torch.manual_seed(seed)
    net = inception_v3(weights=None, num_classes=num_classes, aux_logits=True, transform_input=False,
                       init_weights=True)
    with torch.no_grad():  # non-trivial BatchNorm statistics
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
    return net.eval()


def test_torchvision_state_dicts_with_n_and_n_plus_one_classes(tmp_path):
    net = _torchvision_net(21)  # flowers: 20 classes + background output 0
    images = _images(seed=3)
    with torch.no_grad():
        expected = net(images.float() / 127.5 - 1.0)
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(state, tmp_path / "with-background.pth")
    dropped = dict(state, **{"fc.weight": state["fc.weight"][1:], "fc.bias": state["fc.bias"][1:],
                             "AuxLogits.fc.weight": state["AuxLogits.fc.weight"][1:],
                             "AuxLogits.fc.bias": state["AuxLogits.fc.bias"][1:]})
    no_aux = {k: v for k, v in dropped.items() if not k.startswith("AuxLogits.")}
    torch.save(no_aux, tmp_path / "twenty-no-aux.pth")
    for name in ("with-background.pth", "twenty-no-aux.pth"):
        ex = load_extractor("inception-flowers", weights=str(tmp_path / name))
        assert not ex.tf_pooling and ex.background_dropped == (name == "with-background.pth")
        got = ex(images)["logits"]
        assert got.shape == (2, 20)
        torch.testing.assert_close(got, expected[:, 1:], rtol=1e-4, atol=1e-4 * expected.abs().max().item())


@pytest.mark.parametrize("edit, message", [
    (lambda s: s.pop("Mixed_6c.branch7x7dbl_4.bn.running_mean"), r"1 keys missing .*Mixed_6c.branch7x7dbl_4"),
    (lambda s: s.update({"Mixed_6c.extra.weight": torch.zeros(3)}), r"1 unexpected .*Mixed_6c.extra.weight"),
    (lambda s: s.update({"Conv2d_2a_3x3.conv.weight": torch.zeros(32, 32, 3, 4)}), r"shapes differ .*Conv2d_2a_3x3"),
    (lambda s: s.update({"fc.weight": torch.zeros(1000, 2048)}), r"has 1000 outputs, expected 50 or 51"),
    (lambda s: s.pop("fc.weight"), r"no 2-D 'fc.weight'"),
])
def test_state_dict_errors_are_clear(tmp_path, edit, message):
    from t2ibench.features.inception_torchvision import build_inception_v3

    state = {k: v for k, v in build_inception_v3(50).state_dict().items() if not k.endswith("num_batches_tracked")}
    edit(state)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match=message) as e:
        load_extractor("inception-birds", weights=str(tmp_path / "bad.pth"))
    assert "inception-birds weights" in str(e.value) and "bad.pth" in str(e.value)


def test_no_weights_says_how_to_convert():
    with pytest.raises(ValueError, match=r"needs weights=PATH \(--weights inception-birds=PATH\).*"
                                         r"convert_stackgan_inception CKPT --classes 50"):
        load_extractor("inception-birds")


def test_malicious_pickle_is_refused_without_running(tmp_path):
    marker = tmp_path / "pwned"
    torch.save({"fc.weight": TouchOnLoad(marker)}, tmp_path / "evil.pth")
    with pytest.raises(ValueError, match="weights_only=True"):
        load_extractor("inception-birds", weights=str(tmp_path / "evil.pth"))
    assert not marker.exists()


@pytest.mark.parametrize("size", [64, 128, 256, 400])
def test_preprocess_is_pil_bilinear_then_minus_one_to_one(size):
    images = _images(n=2, size=size, seed=size)
    got = preprocess(images)
    assert got.shape == (2, 3, 299, 299) and got.dtype == torch.float32
    pil = np.stack([np.asarray(Image.fromarray(im.permute(1, 2, 0).numpy()).resize((299, 299), Image.BILINEAR))
                    for im in images]).astype(np.float32)  # what scipy.misc.imresize(..., 'bilinear') called
    expected = pil.transpose(0, 3, 1, 2) / 127.5 - 1.0
    np.testing.assert_array_equal(got.numpy(), expected)


# ---------------------------------------------------------------------------------------------
# StackGAN's IS convention
# ---------------------------------------------------------------------------------------------

def stackgan_inception_score(preds: np.ndarray, splits: int = 10, bs: int = 64):
    """``get_inception_score`` of StackGAN-inception-model, in float64, without its unseeded shuffle."""
    n_batches = int(math.floor(float(len(preds)) / float(bs)))
    preds = np.concatenate([preds[i * bs:(i + 1) * bs] for i in range(n_batches)], 0)
    scores = []
    for i in range(splits):
        part = preds[i * preds.shape[0] // splits:(i + 1) * preds.shape[0] // splits, :]
        kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
        scores.append(np.exp(np.mean(np.sum(kl, 1))))
    return np.mean(scores), np.std(scores)


@pytest.mark.parametrize("n", [64, 650, 1000, 2933])
def test_is_stackgan_equals_stackgans_formula_and_differs_from_is(n):
    from t2ibench.metrics import inception_score, inception_score_stackgan

    rng = np.random.default_rng(n)
    logits = rng.standard_normal((n, 50)) * 3 + rng.standard_normal(50) * 2
    probs = np.exp(logits - logits.max(1, keepdims=True))
    probs /= probs.sum(1, keepdims=True)
    expected = stackgan_inception_score(probs)
    got = inception_score_stackgan(probs)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    np.testing.assert_allclose(inception_score_stackgan(logits), expected, rtol=1e-12)  # logits in, same value
    torch_fidelity_convention = inception_score(probs)  # `is`: every image, seeded shuffle
    assert abs(torch_fidelity_convention[0] - got[0]) > 1e-9 * got[0]
    print(f"n={n}: is-stackgan {got[0]:.5f} ± {got[1]:.5f}, is {torch_fidelity_convention[0]:.5f} "
          f"± {torch_fidelity_convention[1]:.5f} ({100 * (torch_fidelity_convention[0] / got[0] - 1):+.3f} %)")


def test_is_stackgan_needs_a_whole_batch():
    from t2ibench.metrics import inception_score_stackgan

    with pytest.raises(ValueError, match="whole batches of 64 only; 63 rows make none"):
        inception_score_stackgan(np.full((63, 5), 0.2))


def test_is_stackgan_protocol_and_defaults():
    from t2ibench.protocols import Collected, parse_metric

    assert [parse_metric("is-stackgan", d).extractor for d in ("cub", "flowers", "shapes", "coco")] == \
        ["inception-birds", "inception-flowers", "shapes-classifier", "inception-v3-compat"]
    assert [parse_metric("is", d).extractor for d in ("cub", "flowers", "shapes", "coco")] == \
        ["inception-v3-compat", "inception-v3-compat", "shapes-classifier", "inception-v3-compat"]
    p = parse_metric("is-stackgan@inception-birds", "cub")
    assert p.min_images == 64
    logits = np.random.default_rng(0).standard_normal((1000, 50)).astype(np.float32)
    out = p.compute(Collected(fake={("inception-birds", "logits"): logits}), {"logits": ("inception-birds", "logits")})
    probs = np.exp(logits.astype(np.float64))
    probs /= probs.sum(1, keepdims=True)
    assert out["n_scored"] == 960 and out["n_dropped"] == 40 and out["batch_size"] == 64 and out["splits"] == 10
    np.testing.assert_allclose((out["value"], out["std"]), stackgan_inception_score(probs), rtol=1e-9)
