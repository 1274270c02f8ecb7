"""Released generator checkpoints (models.common.released): files built in each released format (the
released key names and structure, random values) load into the zoo's networks by the key maps, and the zoo
generator's images equal the released forward pass written plainly in tests/released_nets.py.

Widths: the maps read every width from the file, so the equality tests use the released key structure at a
reduced width (GF_DIM 2, three stages up to 256 px); the paper-size tests check the released birds / COCO
key sets and shapes at their released widths (every key mapped, the config read back).
"""
from __future__ import annotations

import pytest
import torch

from models.common.released import get_format, list_formats, load_released_state, map_state
from models.common.text_encoder import EncodedText
from released_nets import G_NET, g_net_forward, randomise

N, T, NEF = 3, 6, 8


def _text(seed=1, nef=NEF):
    """Three captions of lengths 6, 4 and 2 words (the others padding)."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor([6, 4, 2])
    mask = torch.arange(T)[None, :] >= lengths[:, None]
    words = torch.randn(N, nef, T, generator=g).masked_fill(mask[:, None, :], 0.0)
    return EncodedText(torch.randn(N, nef, generator=g), words, mask, lengths)


def _noise(nz, ncf, seed=2):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(N, nz, generator=g), torch.randn(N, ncf, generator=g)


def _save(state, path, legacy: bool, drop_tracked: bool = False):
    """``torch.save`` of a state dict as the releases were: the legacy (pre-1.6) serialisation, and without
    BatchNorm's ``num_batches_tracked`` for a PyTorch 0.3/0.4.0 file."""
    state = {k: v for k, v in state.items() if not (drop_tracked and k.endswith("num_batches_tracked"))}
    torch.save(state, path, _use_new_zipfile_serialization=not legacy)
    return path


@pytest.mark.parametrize("legacy,drop_tracked", [(True, True), (False, False)])
def test_attngan_release_equals_the_released_forward(tmp_path, legacy, drop_tracked):
    ref = randomise(G_NET("attngan", ngf=2, nef=NEF, ncf=3, nz=5, r_num=2))
    path = _save(ref.state_dict(), tmp_path / "netG_epoch_600.pth", legacy, drop_tracked)
    model, config, _ = load_released_state("attngan-release", path, "cub")
    assert {k: config[k] for k in ("ngf", "z_dim", "c_dim", "text_dim", "r_num", "stages", "image_size")} == {
        "ngf": 2, "z_dim": 5, "c_dim": 3, "text_dim": NEF, "r_num": 2, "stages": 3, "image_size": 256}
    text, (z, eps) = _text(), _noise(5, 3)
    expected = g_net_forward(ref, z, eps, text.sentence, text.words, text.mask)
    with torch.no_grad():
        got = model.generator.eval()(text, torch.cat([z, eps], 1)).images
    assert [x.shape[-1] for x in got] == [64, 128, 256]
    for a, b in zip(got, expected):
        assert 0.05 < b.std() and b.abs().max() < 0.999   # not a saturated, trivially equal image
        torch.testing.assert_close(a, b, atol=2e-5, rtol=1e-4)


def _shapes(module) -> dict[str, torch.Tensor]:
    """A state dict of random values with the shapes of ``module`` (built on the meta device: paper sizes fast)."""
    g = torch.Generator().manual_seed(0)
    return {k: torch.randn(v.shape, generator=g) if v.is_floating_point() else torch.zeros(v.shape, dtype=v.dtype)
            for k, v in module.state_dict().items()}


@pytest.mark.parametrize("dataset,ngf,r_num", [("cub", 32, 2), ("coco", 48, 3)])
def test_attngan_release_paper_sizes(tmp_path, dataset, ngf, r_num):
    """The released birds (eval_bird.yml: GF_DIM 32, R_NUM 2) and COCO (eval_coco.yml: GF_DIM 48, R_NUM 3)
    key sets at their sizes: every key maps, the config read back is the release's."""
    with torch.device("meta"):
        released = G_NET("attngan", ngf=ngf, nef=256, ncf=100, nz=100, r_num=r_num)
    state = _shapes(released)
    path = _save(state, tmp_path / f"{dataset}_AttnGAN2.pth", legacy=True, drop_tracked=True)
    model, config, digest = load_released_state("attngan-release", path, dataset)
    assert (config["ngf"], config["r_num"], config["z_dim"], config["c_dim"], config["image_size"]) == (
        ngf, r_num, 100, 100, 256)
    zoo = model.generator.state_dict()
    assert len(zoo) == len(state)
    torch.testing.assert_close(zoo["stages.1.attention.project.weight"], state["h_net3.att.conv_context.weight"][..., 0])
    torch.testing.assert_close(zoo["init.fc.0.weight"][:, 100:], state["h_net1.fc.0.weight"][:, :100])  # c first
    assert len(digest) == 64


def _released_state():
    return randomise(G_NET("attngan", ngf=2, nef=NEF, ncf=3, nz=5, r_num=1, branches=2)).state_dict()


@pytest.mark.parametrize("edit,message", [
    (lambda s: s.pop("h_net2.att.conv_context.weight"), "missing released keys 'h_net2.att.conv_context.weight'"),
    (lambda s: s.__setitem__("h_net2.extra.weight", torch.zeros(1)), "unexpected keys 'h_net2.extra.weight'"),
    (lambda s: s.__setitem__("h_net2.residual.0.block.3.weight", torch.zeros(5, 4, 3, 3)),
     "key 'h_net2.residual.0.block.3.weight' has shape (5, 4, 3, 3), expected (4, 4, 3, 3)"),
    (lambda s: s.__setitem__("h_net2.att.conv_context.weight", torch.zeros(2, NEF)),
     "key 'h_net2.att.conv_context.weight' has shape (2, 8), expected (2, 8, 1, 1)"),
    (lambda s: s.pop("ca_net.fc.weight"), "no key 'ca_net.fc.weight'"),
])
def test_refuses_missing_extra_and_misshapen_keys(tmp_path, edit, message):
    state = _released_state()
    edit(state)
    path = _save(state, tmp_path / "netG.pth", legacy=False)
    with pytest.raises(ValueError) as e:
        load_released_state("attngan-release", path, "cub")
    assert message in str(e.value) and str(path) in str(e.value)


def test_map_state_never_loads_in_part():
    """A zoo tensor the map does not cover is a refusal, not a partial load."""
    from models.common.released import KeyMap

    zoo = {"ca.fc.weight": torch.zeros(2, 2), "other.weight": torch.zeros(1)}
    with pytest.raises(ValueError, match="no released key for the zoo network's 'other.weight'"):
        map_state({"ca_net.fc.weight": torch.ones(2, 2)}, KeyMap((("ca.fc.", "ca_net.fc."),)), zoo, "x")


class _FixedEncoder:
    """A stand-in text encoder: each caption ("0", "1", "2") maps to row i of a fixed EncodedText."""

    def __init__(self, text: EncodedText):
        self.text, self.dim, self.sha256 = text, text.sentence.shape[1], "0" * 64

    def to(self, device):
        return self

    def encode_each(self, captions):
        rows = torch.tensor([int(c) for c in captions])
        return self.text.map(lambda t: t[rows])

    def describe(self):
        return {"weights": "stand-in"}


def test_load_generator_with_a_released_format(tmp_path):
    """load_generator("attngan", weights=PATH, format="attngan-release") gives the benchmark's generator,
    whose images are the released forward pass's for the same noise rows."""
    from types import SimpleNamespace

    from models.common.gan import to_uint8
    from t2ibench.generators.base import per_caption_noise
    from t2ibench.registry import load_generator

    ref = randomise(G_NET("attngan", ngf=2, nef=NEF, ncf=3, nz=5, r_num=2))
    path = _save(ref.state_dict(), tmp_path / "bird_AttnGAN2.pth", legacy=True, drop_tracked=True)
    text = _text()
    dataset = SimpleNamespace(name="cub", image_size=256)
    gen = load_generator("attngan", dataset=dataset, weights=path, format="attngan-release",
                         text_encoder=_FixedEncoder(text))
    images = gen.generate(["0", "1", "2"], seed=5)
    noise = per_caption_noise(5, N, (8,))
    expected = to_uint8(g_net_forward(ref, noise[:, :5], noise[:, 5:], text.sentence, text.words, text.mask)[-1])
    assert images.dtype == torch.uint8 and images.shape == (N, 3, 256, 256)
    assert (images.int() - expected.int()).abs().max() <= 1
    assert gen.info["format"] == "attngan-release" and gen.fingerprint["weights_sha256"]
    assert gen.fingerprint["text_encoder_sha256"] == "0" * 64   # kept images are not reused with another encoder


def test_load_generator_refusals(tmp_path):
    from types import SimpleNamespace

    from t2ibench.registry import load_generator

    path = _save(_released_state(), tmp_path / "netG.pth", legacy=False)
    cub128 = SimpleNamespace(name="cub", image_size=128)
    with pytest.raises(ValueError, match="is a release of 'attngan', not of 'dmgan'"):
        load_generator("dmgan", dataset=cub128, weights=path, format="attngan-release")
    with pytest.raises(ValueError, match="text_encoder_weights=.*TEXT_ENCODER.pth,CAPTIONS.pickle"):
        load_generator("attngan", dataset=cub128, weights=path, format="attngan-release")
    with pytest.raises(ValueError, match="make 128 px images; dataset 'cub' is loaded at 256 px"):
        load_generator("attngan", dataset=SimpleNamespace(name="cub", image_size=256), weights=path,
                       format="attngan-release", text_encoder=_FixedEncoder(_text()))
    with pytest.raises(ValueError, match="unknown released weights format 'nope'"):
        load_generator("attngan", dataset=cub128, weights=path, format="nope")


def test_dmgan_release_equals_the_released_forward(tmp_path):
    ref = randomise(G_NET("dmgan", ngf=2, nef=NEF, ncf=3, nz=5, r_num=2), seed=3)
    path = _save(ref.state_dict(), tmp_path / "bird_DMGAN.pth", legacy=True)
    model, config, _ = load_released_state("dmgan-release", path, "cub")
    assert (config["ngf"], config["memory_dim"], config["r_num"]) == (2, 4, 2)
    text, (z, eps) = _text(), _noise(5, 3)
    expected = g_net_forward(ref, z, eps, text.sentence, text.words, text.mask)
    with torch.no_grad():
        got = model.generator.eval()(text, torch.cat([z, eps], 1)).images
    for a, b in zip(got, expected):
        assert 0.05 < b.std()
        torch.testing.assert_close(a, b, atol=2e-5, rtol=1e-4)


def test_dmgan_release_paper_size_keys(tmp_path):
    with torch.device("meta"):
        released = G_NET("dmgan", ngf=64, nef=256, ncf=100, nz=100, r_num=2)
    path = _save(_shapes(released), tmp_path / "bird_DMGAN.pth", legacy=True)
    _, config, _ = load_released_state("dmgan-release", path, "cub")
    assert (config["ngf"], config["memory_dim"], config["r_num"], config["image_size"]) == (64, 128, 2, 256)


def test_every_format_documents_itself():
    assert {"attngan-release", "dmgan-release"} <= set(list_formats())
    for name in list_formats():
        fmt = get_format(name)
        assert fmt.source and fmt.files and (fmt.refuse or (fmt.key_map and fmt.infer))
        assert fmt.text_encoder or fmt.no_text_encoder or fmt.refuse


def test_stackgan_v2_release_equals_the_released_forward(tmp_path):
    """StackGAN-v2's G_NET saved from nn.DataParallel ('module.' keys); both concatenations put c first."""
    from types import SimpleNamespace

    from released_nets import G_NET_V2, g_net_v2_forward
    from t2ibench.registry import load_generator

    ref = randomise(G_NET_V2(ngf=8, t_dim=12, ef=3, nz=5, r_num=2), seed=4)
    state = {f"module.{k}": v for k, v in ref.state_dict().items()}
    path = _save(state, tmp_path / "netG_210000.pth", legacy=True)
    model, config, _ = load_released_state("stackgan-v2-release", path, "cub")
    assert (config["ngf"], config["text_dim"], config["c_dim"], config["branches"]) == (8, 12, 3, 3)
    text, (z, eps) = _text(nef=12), _noise(5, 3)
    expected = g_net_v2_forward(ref, z, eps, text.sentence)
    with torch.no_grad():
        got = model.generator.eval()(text, torch.cat([z, eps], 1)).images
    for a, b in zip(got, expected):
        assert 0.05 < b.std()
        torch.testing.assert_close(a, b, atol=2e-5, rtol=1e-4)
    cub = SimpleNamespace(name="cub", image_size=256)
    with pytest.raises(ValueError, match="char-CNN-RNN"):
        load_generator("stackgan++", dataset=cub, weights=path, format="stackgan-v2-release")
    gen = load_generator("stackgan++", dataset=cub, weights=path, format="stackgan-v2-release",
                         text_encoder=_FixedEncoder(text))
    assert gen.generate(["0"]).shape == (1, 3, 256, 256)


def test_stackgan_v2_release_paper_size_keys(tmp_path):
    """The released birds_3stages key set (eval_birds.yml: GF_DIM 64, EMBEDDING_DIM 128, Z_DIM 100, R_NUM 2,
    char-CNN-RNN 1024-d) at its size: every key maps, the widths read back are the release's."""
    from released_nets import G_NET_V2

    with torch.device("meta"):
        released = G_NET_V2(ngf=64, t_dim=1024, ef=128, nz=100, r_num=2)
    state = {f"module.{k}": v for k, v in _shapes(released).items()}
    _, config, _ = load_released_state("stackgan-v2-release", _save(state, tmp_path / "netG_210000.pth", True), "cub")
    assert (config["ngf"], config["text_dim"], config["c_dim"], config["z_dim"], config["r_num"],
            config["image_size"]) == (64, 1024, 128, 100, 2, 256)


def test_hdgan_release_is_refused_naming_the_differences(tmp_path):
    from types import SimpleNamespace

    from t2ibench.registry import load_generator

    path = _save({"condEmbedding.linear.weight": torch.zeros(256, 1024)}, tmp_path / "G.pth", legacy=False)
    with pytest.raises(ValueError, match="refused: HDGAN's released Generator is not the zoo's hdgan network: .*"
                                         "LeakyReLU.*reflection"):
        load_generator("hdgan", dataset=SimpleNamespace(name="cub", image_size=256), weights=path,
                       format="hdgan-release")


def _save_module(module, path, legacy: bool, monkeypatch, py2: bool = False):
    """torch.save(module) as CPGAN saved NET_G.pkl (protocol 2; ``py2``: every str as Python 2's 8-bit str, as
    its Python 2.7 / PyTorch 1.4 environment wrote them), its classes under the released module name ``model``
    (as code/model.py's)."""
    import pickle
    import sys

    import released_nets
    from test_damsm_release import PY2_PICKLE

    for cls in {type(m) for m in module.modules()}:
        if cls.__module__ == released_nets.__name__:
            monkeypatch.setattr(cls, "__module__", "model")
    monkeypatch.setitem(sys.modules, "model", released_nets)
    torch.save(module, path, pickle_module=PY2_PICKLE if py2 else pickle, pickle_protocol=2,
               _use_new_zipfile_serialization=not legacy)
    monkeypatch.undo()
    return path


@pytest.mark.parametrize("legacy,py2", [(True, True), (False, False)])
def test_cpgan_module_pickle_equals_the_released_forward(tmp_path, monkeypatch, legacy, py2):
    ref = randomise(G_NET("cpgan", ngf=2, nef=NEF, ncf=3, nz=5, r_num=3), seed=6)
    path = _save_module(ref, tmp_path / "NET_G.pkl", legacy, monkeypatch, py2)
    model, config, _ = load_released_state("cpgan-release", path, "coco")
    assert (config["ngf"], config["r_num"], config["stages"]) == (2, 3, 3)
    text, (z, eps) = _text(), _noise(5, 3)
    expected = g_net_forward(ref, z, eps, text.sentence, text.words, text.mask)
    with torch.no_grad():
        got = model.generator.eval()(text, torch.cat([z, eps], 1)).images
    for a, b in zip(got, expected):
        assert 0.05 < b.std()
        torch.testing.assert_close(a, b, atol=2e-5, rtol=1e-4)


def test_module_pickle_reads_the_state_dict_without_the_classes(tmp_path, monkeypatch):
    """The extracted tensors are state_dict()'s, keys and values, with the classes' module not importable."""
    import sys

    from models.common.module_pickle import read_module_pickle

    ref = randomise(G_NET("cpgan", ngf=2, nef=NEF, ncf=3, nz=5, r_num=1, branches=2), seed=6)
    path = _save_module(ref, tmp_path / "NET_G.pkl", True, monkeypatch)
    assert "model" not in sys.modules
    state = read_module_pickle(path, "CPGAN weights")
    expected = ref.state_dict()
    assert state.keys() == expected.keys()
    for k in expected:
        torch.testing.assert_close(state[k], expected[k], rtol=0, atol=0)


class _Payload:
    """Unpickled by pickle.load, this would create ``marker`` (``open(marker, "w")``)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


@pytest.mark.parametrize("legacy", [True, False])
def test_a_malicious_module_pickle_is_refused_without_running_code(tmp_path, monkeypatch, legacy):
    import pickle

    from models.common.module_pickle import read_module_pickle

    marker = tmp_path / "pwned"
    net = G_NET("cpgan", ngf=2, nef=NEF, ncf=3, nz=5, r_num=1, branches=2)
    net.payload = _Payload(marker)            # hidden in the module's state, as a real attack would be
    path = _save_module(net, tmp_path / "NET_G.pkl", legacy, monkeypatch)
    bare = tmp_path / "bare.pkl"
    bare.write_bytes(pickle.dumps(_Payload(marker), protocol=2))
    for p in (path, bare):
        with pytest.raises(ValueError, match=r"refused: .* calls \w+\.open\(\.\.\.\) while loading"):
            read_module_pickle(p, "CPGAN weights")
        with pytest.raises(ValueError, match="refused"):
            load_released_state("cpgan-release", p, "coco")
    assert not marker.exists()
    control = tmp_path / "control"     # the payload does create its file when unpickled for real
    pickle.loads(pickle.dumps(_Payload(control), protocol=2)).close()
    assert control.exists()


def test_module_pickle_rejects_what_is_not_a_module(tmp_path):
    from models.common.module_pickle import read_module_pickle

    state_dict_file = _save(_released_state(), tmp_path / "netG.pth", legacy=True)
    with pytest.raises(ValueError, match="not a pickled nn.Module"):
        read_module_pickle(state_dict_file, "CPGAN weights")
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"\x80\x02K\x01")
    with pytest.raises(ValueError, match="not a readable torch module pickle"):
        read_module_pickle(junk, "CPGAN weights")


def test_cli_generator_weights_flags(monkeypatch, capsys, tmp_path):
    """t2ibench eval passes --generator-weights / --weights-format / --generator-text-encoder to the generator's
    factory; bad flags are one-line errors."""
    import t2ibench.registry as registry
    from t2ibench.cli import main

    seen = {}

    def fake_load_generator(name, dataset, device, **kwargs):
        seen.update(name=name, **kwargs)
        raise ValueError("stop here")

    monkeypatch.setattr(registry, "load_generator", fake_load_generator)
    flags = ["--generator-weights", "attngan=bird_AttnGAN2.pth", "--weights-format", "attngan=attngan-release",
             "--generator-text-encoder", "attngan=text_encoder200.pth,captions.pickle"]
    assert main(["eval", "--generator", "attngan", "--dataset", "shapes", "--n-images", "2", "--out",
                 str(tmp_path / "run"), *flags]) == 2
    assert seen == {"name": "attngan", "weights": "bird_AttnGAN2.pth", "format": "attngan-release",
                    "text_encoder_weights": "text_encoder200.pth,captions.pickle"}
    assert "error: stop here" in capsys.readouterr().err
    for bad, message in [(["--generator-weights", "dmgan=x.pth"], "'dmgan' is not a generator of this run"),
                         (["--weights-format", "attngan=attngan-release"], "give the released file"),
                         (["--generator-weights", "attngan"], "expected NAME=VALUE")]:
        assert main(["eval", "--generator", "attngan", "--dataset", "shapes", *bad]) == 2
        assert message in capsys.readouterr().err


def test_list_formats(capsys):
    from t2ibench.cli import main

    assert main(["list", "formats"]) == 0
    out = capsys.readouterr().out
    for name in ("attngan-release", "dmgan-release", "stackgan-v2-release", "hdgan-release", "cpgan-release"):
        assert f"  {name}\n" in out
    assert "refused: HDGAN's released Generator" in out and "bird_AttnGAN2.pth" in out


class _NotAModule:
    """A pickled object whose state looks like a module's but is not (a list of parameters)."""

    def __init__(self):
        self._parameters = [1, 2]


def test_module_pickle_rejects_a_state_that_is_not_a_module_s(tmp_path):
    from models.common.module_pickle import read_module_pickle

    path = tmp_path / "odd.pkl"
    torch.save(_NotAModule(), path, pickle_protocol=2, _use_new_zipfile_serialization=False)
    with pytest.raises(ValueError, match="odd.pkl: the top object's _parameters is a list, not a module's mapping"):
        read_module_pickle(path, "CPGAN weights")


@pytest.fixture(scope="module")
def released_birdlike(tmp_path_factory, shapes_test):
    """An AttnGAN release of one stage (64 px, the size of `shapes`) and AttnGAN's released DAMSM for it (text
    and image encoders, captions.pickle with the shapes words), in the released formats:
    ``(G_NET reference, netG path, DAMSM spec)``."""
    from test_damsm_release import image_state, save_released, text_state, write_captions_pickle

    from t2ibench.data.attngan_vocab import attngan_tokens

    root = tmp_path_factory.mktemp("release")
    words = ["<end>"] + sorted({t for i in range(200) for c in shapes_test.captions(i) for t in attngan_tokens(c)})
    (root / "bird").mkdir()
    save_released(text_state(len(words)), root / "bird" / "text_encoder9.pth")
    save_released(image_state(), root / "bird" / "image_encoder9.pth")
    write_captions_pickle(root / "captions.pickle", words=words)
    ref = randomise(G_NET("attngan", ngf=4, nef=256, ncf=6, nz=7, branches=1), seed=8, scale=0.4)
    netg = _save(ref.state_dict(), root / "netG_epoch_600.pth", legacy=True, drop_tracked=True)
    return ref, netg, f"{root}/bird/text_encoder9.pth,{root}/captions.pickle"


def test_eval_scores_a_released_generator_with_the_released_damsm(tmp_path, shapes_test, released_birdlike):
    """End to end: `t2ibench eval` scores an AttnGAN release read through its key map, conditioned by AttnGAN's
    released DAMSM, and its images are the released forward pass's on that DAMSM's text features."""
    import json

    from models.common.gan import to_uint8
    from models.common.released import ReleasedTextEncoder
    from t2ibench.cli import main
    from t2ibench.engine import evaluation_plan
    from t2ibench.generators.base import per_caption_noise
    from t2ibench.image_store import ImageStore

    ref, netg, damsm = released_birdlike
    out = tmp_path / "run"
    assert main(["eval", "--generator", "attngan", "--dataset", "shapes", "--n-images", "4", "--metrics", "ssim",
                 "--no-progress", "--out", str(out), "--generator-weights", f"attngan={netg}",
                 "--weights-format", "attngan=attngan-release", "--generator-text-encoder", f"attngan={damsm}"]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["n_images"] == 4 and 0 < result["metrics"]["ssim"]["value"] < 1
    # the DAMSM files built here are no released file: the result says so
    assert any(w.startswith("generator 'attngan': text encoder: unknown weights") and "text_encoder9.pth" in w
               for w in result["warnings"]), result["warnings"]
    images = ImageStore.existing(out / "images").head(4)
    captions = [str(c) for c in evaluation_plan(shapes_test, 4, 0)]
    text = ReleasedTextEncoder("shapes", damsm).encode_each(captions)
    noise = per_caption_noise(0, 4, (13,))
    expected = to_uint8(g_net_forward(ref, noise[:, :7], noise[:, 7:], text.sentence, text.words, text.mask)[-1])
    assert expected.float().std() > 5 and (images.int() - expected.int()).abs().max() <= 1
    assert len({img.numpy().tobytes() for img in images}) == 4
    # AttnGAN's evaluation word limits (eval_bird.yml 25, eval_coco.yml 20), not the training ones (18, 12)
    assert ReleasedTextEncoder("cub", damsm).tokenizer.max_len == 25
    assert ReleasedTextEncoder("coco", damsm).tokenizer.max_len == 20


def test_benchmark_takes_a_released_generator(tmp_path, benchmark_script, released_birdlike):
    """benchmark.py's leaderboard row of a zoo model scored with its released weights (--generator-weights
    NAME=PATH --weights-format NAME=FORMAT --generator-text-encoder NAME=FILES)."""
    import json

    from t2ibench.io import sha256_file

    _, netg, damsm = released_birdlike
    out = tmp_path / "lb"
    assert benchmark_script.main(
        ["--generators", "attngan", "--n-images", "8", "--metrics", "ssim", "--table", "none", "--no-sanity",
         "--fid-vs-n", "none", "--no-progress", "--device", "cpu", "--out", str(out), "--images-dir",
         str(tmp_path / "images"), "--generator-weights", f"attngan={netg}", "--weights-format",
         "attngan=attngan-release", "--generator-text-encoder", f"attngan={damsm}"]) == 0
    result = json.loads((out / "shapes" / "results" / "attngan.json").read_text())
    assert result["n_images"] == 8 and 0 < result["metrics"]["ssim"]["value"] < 1
    digest = sha256_file(netg)   # the kept images are the released file's (its sha256 in their identity)
    assert any(digest in p.read_text() for p in (tmp_path / "images").rglob("*.json"))


def test_tables_load_their_generators_with_the_run_s_options(tmp_path, monkeypatch, shapes_test):
    """measure_tables(generator_options=...) hands a table's generator the run's weights options (what
    benchmark.py's --generator-weights / --weights-format do for the papers' tables)."""
    import t2ibench.registry as registry
    from models.common.zoo import NoWeightsError
    from t2ibench.tables.measure import measure_tables
    from t2ibench.tables.specs import get_spec

    seen = {}

    def fake_load_generator(name, dataset, device, **kwargs):
        seen[name] = kwargs
        raise NoWeightsError("not loaded in this test")

    monkeypatch.setattr(registry, "load_generator", fake_load_generator)
    options = {"attngan": {"weights": "netG.pth", "format": "attngan-release", "text_encoder_weights": "t.pth,c.pickle"}}
    measure_tables(["grgan-table-1"], shapes_test, tmp_path, n_images=50, seed=0, progress=False,
                   generator_options=options)
    assert "attngan" in {row.generator for row in get_spec("grgan-table-1").rows}   # AttnGAN is a row
    assert seen["attngan"] == options["attngan"]
    assert all(kwargs.keys().isdisjoint({"weights", "format"}) for name, kwargs in seen.items() if name != "attngan")


def test_stackgan_v2_release_scores_the_dataset_s_captions_with_char_cnn_rnn(tmp_path):
    """StackGAN-v2's release conditioned by StackGAN's released char-CNN-RNN embeddings of the dataset's own
    captions (the zoo's char-cnn-rnn lookup, its data root by default the dataset's): generate() equals the
    released forward pass on the looked-up embeddings."""
    import numpy as np
    from PIL import Image

    import py2_pickle as p2
    from released_nets import G_NET_V2, g_net_v2_forward
    from models.common.gan import to_uint8
    from t2ibench.data import load_dataset
    from t2ibench.generators.base import per_caption_noise
    from t2ibench.registry import load_generator

    root, rng = tmp_path / "flowers", np.random.default_rng(0)
    splits = {"train": [1], "test": [2, 3]}
    for split, numbers in splits.items():
        (root / split).mkdir(parents=True)
        for n in numbers:
            (root / "jpg").mkdir(exist_ok=True)
            Image.fromarray(np.full((40, 50, 3), 20 * n, np.uint8)).save(root / "jpg" / f"image_{n:05d}.jpg")
            cap = root / "text_c10" / "class_00001" / f"image_{n:05d}.txt"
            cap.parent.mkdir(parents=True, exist_ok=True)
            cap.write_text("\n".join(f"flower {n} caption {k}" for k in range(10)) + "\n")
        (root / split / "filenames.pickle").write_bytes(p2.dumps([f"jpg/image_{n:05d}" for n in numbers]))
        emb = rng.standard_normal((len(numbers), 10, 1024)).astype(np.float32) * 0.1
        (root / split / "char-CNN-RNN-embeddings.pickle").write_bytes(p2.dumps([p2.numpy_array(a) for a in emb]))
        if split == "test":
            test_emb = emb
    ref = randomise(G_NET_V2(ngf=8, t_dim=1024, ef=3, nz=5, r_num=1), seed=9)
    path = _save({f"module.{k}": v for k, v in ref.state_dict().items()}, tmp_path / "netG_210000.pth", True)
    dataset = load_dataset("flowers", split="test", root=root, image_size=256)
    gen = load_generator("stackgan++", dataset=dataset, weights=path, format="stackgan-v2-release")
    captions = ["flower 3 caption 4", "flower 2 caption 0"]
    images = gen.generate(captions, seed=1)
    noise = per_caption_noise(1, 2, (8,))
    sentence = torch.from_numpy(np.stack([test_emb[1, 4], test_emb[0, 0]]))
    expected = to_uint8(g_net_v2_forward(ref, noise[:, :5], noise[:, 5:], sentence)[-1])
    assert expected.float().std() > 5 and (images.int() - expected.int()).abs().max() <= 1
    with pytest.raises(ValueError, match="no released embedding for the caption 'a new caption'"):
        gen.generate(["a new caption"])
