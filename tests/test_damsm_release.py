"""AttnGAN's released DAMSM encoders and vocabulary: files built here in the released formats.

The released files cannot be downloaded here, so each test writes files in their format — the
state dicts of AttnGAN's ``RNN_ENCODER`` / ``CNN_ENCODER`` (key names and shapes from AttnGAN's
``code/model.py``) with random values, saved as PyTorch 0.3 under Python 2 saved them (the legacy
non-zip format, pickle protocol 2, Python-2 ``str`` keys), and a ``captions.pickle`` of
``[train_captions, test_captions, ixtoword, wordtoix]`` (protocol 2, Python-2 ``str`` words) —
and checks the loaded encoders against plain torch modules holding the same tensors.
"""
from __future__ import annotations

import collections
import functools
import pickle
import struct
import types

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from t2ibench.data.attngan_vocab import AttnGANTokenizer, attngan_tokens, load_attngan_vocabulary
from t2ibench.evaluators import damsm_release as rel
from t2ibench.evaluators.damsm import preprocess
from t2ibench.features import known_weights, load_extractor
from t2ibench.io import sha256_file

WORDS = ["<end>", "this", "bird", "has", "a", "red", "crown", "and", "white", "belly", "small", "yellow", "beak",
         "wings", "black", "the", "is", "with", "nave", "2"]
#: the 16 torchvision inception_v3 layers AttnGAN's CNN_ENCODER keeps (its define_module)
INCEPTION_LAYERS = ["Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1", "Conv2d_4a_3x3", "Mixed_5b",
                    "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a",
                    "Mixed_7b", "Mixed_7c"]


# ----------------------------------------------------------------------------- Python-2 pickles
class _Py2Pickler(pickle._Pickler):
    """Writes every str as a Python-2 8-bit ``str`` (SHORT_BINSTRING / BINSTRING), as Python 2 did."""

    dispatch = dict(pickle._Pickler.dispatch)

    def _save_py2_str(self, obj):
        b = obj.encode("utf-8")
        self.write(pickle.SHORT_BINSTRING + bytes([len(b)]) + b if len(b) < 256
                   else pickle.BINSTRING + struct.pack("<i", len(b)) + b)
        self.memoize(obj)

    dispatch[str] = _save_py2_str


def _py2_dump(obj, f, protocol=2):
    _Py2Pickler(f, protocol).dump(obj)


PY2_PICKLE = types.SimpleNamespace(Pickler=_Py2Pickler, dump=_py2_dump, __name__="py2_pickle")


def save_released(state: dict, path) -> None:
    """``torch.save`` as AttnGAN's files were written: legacy format, protocol 2, Python-2 str keys."""
    torch.save(collections.OrderedDict(state), path, pickle_module=PY2_PICKLE, pickle_protocol=2,
               _use_new_zipfile_serialization=False)


def write_captions_pickle(path, words=WORDS, py2_str: bool = True, structure=None) -> None:
    ixtoword = dict(enumerate(words))
    wordtoix = {w: i for i, w in enumerate(words)}
    obj = structure if structure is not None else [[[1, 2, 3], [4, 5]], [[6, 7, 8]], ixtoword, wordtoix]
    with open(path, "wb") as f:
        (_py2_dump if py2_str else pickle.dump)(obj, f, protocol=2)


# ----------------------------------------------------------------------------- released-format state dicts
def text_state(n_words: int, seed: int = 0) -> dict[str, torch.Tensor]:
    """RNN_ENCODER(n_words, nhidden=256): 300-d embeddings, 1 bidirectional LSTM layer of 128 units."""
    g = torch.Generator().manual_seed(seed)
    state = {"encoder.weight": torch.rand(n_words, 300, generator=g) * 0.2 - 0.1}
    for sfx in ("", "_reverse"):
        state.update({f"rnn.weight_ih_l0{sfx}": torch.randn(512, 300, generator=g) * 0.1,
                      f"rnn.weight_hh_l0{sfx}": torch.randn(512, 128, generator=g) * 0.1,
                      f"rnn.bias_ih_l0{sfx}": torch.randn(512, generator=g) * 0.1,
                      f"rnn.bias_hh_l0{sfx}": torch.randn(512, generator=g) * 0.1})
    return state


@functools.lru_cache(maxsize=1)
def image_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """CNN_ENCODER(256): torchvision inception_v3's 16 layers + emb_features [256, 768, 1, 1] +
    emb_cnn_code [256, 2048] / [256], random values. The BatchNorm statistics are those of random
    images (one train-mode pass), so that the features depend on the input as a trained network's do."""
    from torchvision.models import inception_v3

    torch.manual_seed(seed)
    net = inception_v3(weights=None, aux_logits=False, init_weights=False)
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data = torch.rand(m.weight.shape, generator=g) + 0.5
            m.bias.data = torch.randn(m.bias.shape, generator=g) * 0.1
            m.reset_running_stats()
            m.momentum = None            # the running statistics become the pass's averages
    with torch.no_grad():
        net.train()(torch.rand(2, 3, 299, 299, generator=g) * 2 - 1)
    state = {k: v.clone() for k, v in net.state_dict().items()   # no BatchNorm counters: PyTorch 0.3 had none
             if k.split(".")[0] in INCEPTION_LAYERS and not k.endswith("num_batches_tracked")}
    state["emb_features.weight"] = torch.rand(256, 768, 1, 1, generator=g) * 0.2 - 0.1
    state["emb_cnn_code.weight"] = torch.rand(256, 2048, generator=g) * 0.2 - 0.1
    state["emb_cnn_code.bias"] = torch.randn(256, generator=g) * 0.1
    return state


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """A bird-like release in AttnGAN's layout (file names other than the released ones, so that
    the known-file check does not apply): ``(spec, text state, image state, folder)``."""
    root = tmp_path_factory.mktemp("attngan")
    (root / "DAMSMencoders" / "bird").mkdir(parents=True)
    (root / "data" / "birds").mkdir(parents=True)
    ts, ims = text_state(len(WORDS)), image_state()
    save_released(ts, root / "DAMSMencoders" / "bird" / "text_encoder7.pth")
    save_released(ims, root / "DAMSMencoders" / "bird" / "image_encoder7.pth")
    write_captions_pickle(root / "data" / "birds" / "captions.pickle")
    spec = f"{root}/DAMSMencoders/bird/text_encoder7.pth,{root}/data/birds/captions.pickle"
    return spec, ts, ims, root


@pytest.fixture(scope="module")
def cub_extractor(release):
    return load_extractor("damsm", weights=release[0], dataset="cub")


# ----------------------------------------------------------------------------- tokenisation and vocabulary
def test_attngan_tokens():
    assert attngan_tokens("A naïve Bird, with\ufffd\ufffdred WINGS_2!") == ["a", "nave", "bird", "with", "red",
                                                                           "wings_2"]
    assert attngan_tokens("é ü !!") == []


def test_tokenizer_drops_unknown_words_and_keeps_the_first_ones():
    tok = AttnGANTokenizer(WORDS, max_len=4)
    # "tiny" and "feathers" are not in the vocabulary: dropped, not <unk>
    assert tok.encode("This tiny bird has a RED crown") == [1, 2, 3, 4]
    assert tok.encode("red feathers") == [5]
    assert tok.encode("zzz <end> ???") == [0]          # nothing known: the single '<end>'
    assert tok.encode("a naïve bird") == [4, 18, 2]    # non-ASCII characters leave the token
    ids, lengths = tok.batch(["red crown", "this bird has a red crown and"])
    assert lengths.tolist() == [2, 4]
    assert ids.tolist() == [[5, 6, 0, 0], [1, 2, 3, 4]]
    assert tok.vocab_size == len(WORDS)


@pytest.mark.parametrize("py2_str", [True, False])
def test_captions_pickle_loads_in_both_string_forms(tmp_path, py2_str):
    path = tmp_path / "captions.pickle"
    write_captions_pickle(path, py2_str=py2_str)
    assert (b"U\x04bird" in path.read_bytes()) is py2_str  # the Python-2 8-bit str opcode
    assert load_attngan_vocabulary(path) == WORDS


_IX = dict(enumerate(WORDS))
_WIX = {w: i for i, w in enumerate(WORDS)}


@pytest.mark.parametrize("structure,message", [
    ([[], [], _IX], "of 3 items"),
    ({"ixtoword": _IX}, "holds a dict"),
    ([[], [], list(WORDS), _WIX], "expected the dicts"),
    ([[], [], {**_IX, 0: "<pad>"}, {**{w: i for w, i in _WIX.items() if i}, "<pad>": 0}], "expected '<end>'"),
    ([[], [], {i + 1: w for i, w in _IX.items()}, _WIX], "keys are not the ids"),
    ([[], [], _IX, {**_WIX, "bird": 3}], "not the inverse"),
    ([[[1, 2, len(WORDS)]], [], _IX, _WIX], "caption 0 of train_captions"),
    ([[], [[0, 1]], _IX, _WIX], "caption 0 of test_captions"),
    ([[], [], {**_IX, 5: 7}, _WIX], "holds 7; expected non-empty str"),
    ([[], [], {**_IX, 5: ""}, _WIX], "holds ''; expected non-empty str"),
])
def test_captions_pickle_structure_is_checked(tmp_path, structure, message):
    path = tmp_path / "captions.pickle"
    write_captions_pickle(path, structure=structure)
    with pytest.raises(ValueError, match=message) as e:
        load_attngan_vocabulary(path)
    assert str(path) in str(e.value)


class _Exploit:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")   # unpickling it would create the marker file


def test_malicious_captions_pickle_is_refused_without_running_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "captions.pickle"
    write_captions_pickle(path, structure=[[], [], _IX, {**_WIX, "x": _Exploit(marker)}])
    with pytest.raises(ValueError, match="refers to the global"):
        load_attngan_vocabulary(path)
    assert not marker.exists()


def test_malicious_encoder_file_is_refused_without_running_code(release, tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "text_encoder7.pth"
    torch.save({"encoder.weight": torch.zeros(2, 2), "hook": _Exploit(marker)}, bad, pickle_protocol=2,
               _use_new_zipfile_serialization=False)
    with pytest.raises(ValueError, match="weights_only=True"):
        rel.load_released_damsm(f"{bad},{release[3]}/DAMSMencoders/bird/image_encoder7.pth,"
                                f"{release[3]}/data/birds/captions.pickle")
    assert not marker.exists()


# ----------------------------------------------------------------------------- naming the files
def test_spec_forms(tmp_path):
    two = rel.parse_spec("d/text_encoder200.pth,v/captions.pickle")
    assert (str(two.text), str(two.image), str(two.vocab)) == ("d/text_encoder200.pth", "d/image_encoder200.pth",
                                                               "v/captions.pickle")
    three = rel.parse_spec("a/te.pth, b/ie.pth ,c/captions_DAMSM.pickle")
    assert (str(three.text), str(three.image), str(three.vocab)) == ("a/te.pth", "b/ie.pth", "c/captions_DAMSM.pickle")
    assert rel.parse_spec("runs/damsm-cub.safetensors") is None
    (tmp_path / "a,b").mkdir()
    (tmp_path / "a,b" / "damsm-cub.safetensors").write_bytes(b"")
    assert rel.parse_spec(f"{tmp_path}/a,b/damsm-cub.safetensors") is None   # one file with a comma in its path
    for bad, message in [("d/text_encoder200.pth", "named by its files and its vocabulary"),
                         ("d/te.pth,v/captions.pickle", "no 'text_encoder' in it"),
                         ("a.pth,b.pth,c.pth,d.pickle", "expected TEXT_ENCODER.pth"),
                         ("a.pth,,c.pickle", "expected TEXT_ENCODER.pth")]:
        with pytest.raises(ValueError, match=message):
            rel.parse_spec(bad)


def test_cli_weights_keep_the_comma_separated_files():
    from t2ibench.cli import extractor_weights_from_args

    args = types.SimpleNamespace(inception_weights=None, weights=["damsm=a/text_encoder200.pth,b/captions.pickle"])
    assert extractor_weights_from_args(args) == {"damsm": "a/text_encoder200.pth,b/captions.pickle"}


def test_missing_files_are_named(release, tmp_path):
    root = release[3]
    with pytest.raises(ValueError, match="image encoder: no such file .*image_encoder9.pth"):
        rel.load_released_damsm(f"{root}/DAMSMencoders/bird/text_encoder7.pth,{tmp_path}/image_encoder9.pth,"
                                f"{root}/data/birds/captions.pickle")
    with pytest.raises(ValueError, match=r"vocabulary \(captions.pickle\): no such file"):
        rel.load_released_damsm(f"{root}/DAMSMencoders/bird/text_encoder7.pth,{tmp_path}/captions.pickle")


def test_files_are_in_the_released_format(release):
    import zipfile

    te = release[3] / "DAMSMencoders/bird/text_encoder7.pth"
    assert not zipfile.is_zipfile(te)                           # PyTorch 0.3's legacy format
    assert b"U\x0eencoder.weight" in te.read_bytes()            # its keys are Python-2 8-bit str


# ----------------------------------------------------------------------------- outputs vs plain torch modules
def _reference_text(ts: dict, ids: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """``(words [256, T], sentence [256])`` of one caption: nn.Embedding + bidirectional nn.LSTM."""
    emb = nn.Embedding(len(WORDS), 300)
    lstm = nn.LSTM(300, 128, 1, batch_first=True, bidirectional=True)
    emb.weight.data.copy_(ts["encoder.weight"])
    for k, v in ts.items():
        if k.startswith("rnn."):
            getattr(lstm, k[4:]).data.copy_(v)
    with torch.no_grad():
        out, (h, _) = lstm(emb(torch.tensor([ids])))
    return out[0].t(), torch.cat([h[0, 0], h[1, 0]])


def test_every_key_of_the_files_lands_in_the_network(release):
    spec, ts, ims, _ = release
    model, _, _, _ = rel.load_released_damsm(spec)
    loaded = model.state_dict()
    for prefix, state in (("text_encoder.", ts), ("image_encoder.", ims)):
        for k, v in state.items():
            assert torch.equal(loaded[prefix + k], v), k
    assert {k for k in loaded if not k.endswith("num_batches_tracked")} == \
        {f"text_encoder.{k}" for k in ts} | {f"image_encoder.{k}" for k in ims}


def test_text_features_equal_a_plain_lstm(release, cub_extractor):
    _, ts, _, _ = release
    captions = ["This bird has a red crown and white belly, small yellow beak, black wings with "
                "the red crown is white bird has a red crown and white belly small yellow beak",   # 30 known words
                "a white bird", "tiny feathers"]
    out = cub_extractor.encode_text(captions)
    words, sentence = out["words"], out["sentence"]
    assert words.shape == (3, 256, 25) and sentence.shape == (3, 256)   # cub evaluation: 25 words
    lengths = cub_extractor.word_lengths(captions).tolist()
    assert lengths == [25, 3, 1]
    for i, cap in enumerate(captions):
        ids = [WORDS.index(t) for t in attngan_tokens(cap) if t in WORDS][:25] or [0]
        ref_w, ref_s = _reference_text(ts, ids)
        torch.testing.assert_close(words[i, :, :len(ids)], ref_w, atol=1e-5, rtol=1e-5)
        assert torch.all(words[i, :, len(ids):] == 0)
        torch.testing.assert_close(sentence[i], ref_s, atol=1e-5, rtol=1e-5)


def test_image_features_equal_torchvision_layers_and_the_two_embeddings(release, cub_extractor):
    from torchvision.models import inception_v3

    _, _, ims, _ = release
    images = torch.randint(0, 256, (2, 3, 64, 80), dtype=torch.uint8, generator=torch.Generator().manual_seed(3))
    out = cub_extractor(images)
    ref = inception_v3(weights=None, aux_logits=False, init_weights=False)
    missing = ref.load_state_dict({k: v for k, v in ims.items() if not k.startswith("emb_")}, strict=False)
    assert set(missing.missing_keys) <= {k for k in ref.state_dict() if k.startswith("fc.")
                                         or k.endswith("num_batches_tracked")}
    ref.eval()
    seen = {}
    ref.Mixed_6e.register_forward_hook(lambda m, i, o: seen.__setitem__("regions", o))
    ref.avgpool.register_forward_hook(lambda m, i, o: seen.__setitem__("pool", o.flatten(1)))
    x = F.interpolate(images.float() / 127.5 - 1.0, size=(299, 299), mode="bilinear", align_corners=False)
    with torch.no_grad():
        ref(x)
    regions = F.conv2d(seen["regions"], ims["emb_features.weight"])
    glob = F.linear(seen["pool"], ims["emb_cnn_code.weight"], ims["emb_cnn_code.bias"])
    assert out["regions"].shape == (2, 256, 17, 17) and out["global"].shape == (2, 256)
    torch.testing.assert_close(out["regions"], regions, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out["global"], glob, atol=1e-4, rtol=1e-4)
    assert torch.equal(preprocess(images, cub_extractor.config), images.float() / 127.5 - 1.0)


def test_extractor_describes_the_release(release, cub_extractor):
    d = cub_extractor.describe()
    assert d["trained_on"] == "AttnGAN's released DAMSM" and d["words_num"] == 25 and d["stand_in"] is False
    assert d["files"]["text"]["sha256"] == sha256_file(release[3] / "DAMSMencoders/bird/text_encoder7.pth")
    assert d["files"]["vocab"]["sha256"] == sha256_file(release[3] / "data/birds/captions.pickle")
    assert "unknown weights" in cub_extractor.weights_warning and "text_encoder7.pth" in cub_extractor.weights_warning


# ----------------------------------------------------------------------------- word limits and the zoo
def test_word_limits_by_dataset_and_purpose(release):
    from models.common.text_encoder import FrozenTextEncoder

    spec = release[0]
    expected = {("cub", "eval"): 25, ("coco", "eval"): 20, ("cub", "train"): 18, ("coco", "train"): 12,
                ("flowers", "eval"): 18, (None, "train"): 18}
    assert {k: rel.words_num_for(*k) for k in expected} == expected
    coco = load_extractor("damsm", weights=spec, dataset="coco")
    assert coco.tokenizer.max_len == 20 and coco.encode_text(["a bird"])["words"].shape == (1, 256, 20)
    cub = FrozenTextEncoder("cub", weights=spec)
    assert cub.tokenizer.max_len == 18
    enc = cub.encode(["this bird has a red crown", "white belly"])
    assert enc.words.shape == (2, 256, 18) and enc.lengths.tolist() == [6, 2]
    assert cub.describe()["weights"] == "text_encoder7.pth, image_encoder7.pth, captions.pickle"
    assert cub.sha256 != coco.weights_id     # another word limit: other features, other caches
    _, glob = cub.damsm.encode_images(torch.zeros(1, 3, 64, 64))
    assert glob.shape == (1, 256)


# ----------------------------------------------------------------------------- keys and shapes
def _with(state, drop=(), add=None, reshape=None):
    s = {k: v for k, v in state.items() if k not in drop}
    s.update(add or {})
    for k, shape in (reshape or {}).items():
        s[k] = torch.zeros(shape)
    return s


@pytest.mark.parametrize("change,message", [
    (dict(drop=["rnn.bias_hh_l0_reverse"]), r"1 keys missing \(e.g. \['rnn.bias_hh_l0_reverse'\]\)"),
    (dict(add={"rnn.weight_ih_l1": torch.zeros(512, 256)}), r"1 unexpected \(e.g. \['rnn.weight_ih_l1'\]\)"),
    (dict(reshape={"rnn.weight_hh_l0": (512, 64)}), r"\('rnn.weight_hh_l0', \(512, 64\), \(512, 128\)\)"),
    (dict(reshape={"encoder.weight": (len(WORDS) + 1, 300)}), "embeds 21 words, but the vocabulary"),
    (dict(add={"rnn.num_batches_tracked": torch.tensor(3)}), r"unexpected \(e.g. \['rnn.num_batches_tracked'\]\)"),
])
def test_text_encoder_keys_and_shapes_are_checked(release, tmp_path, change, message):
    _, ts, _, root = release
    path = tmp_path / "text_encoder7.pth"
    save_released(_with(ts, **change), path)
    with pytest.raises(ValueError, match=message) as e:
        rel.load_released_damsm(f"{path},{root}/DAMSMencoders/bird/image_encoder7.pth,"
                                f"{root}/data/birds/captions.pickle")
    assert str(path) in str(e.value)


def test_image_encoder_keys_and_shapes_are_checked(release, tmp_path):
    """One bad file per kind of defect (each 90 MB like the released one)."""
    _, _, ims, root = release
    for change, message in [
        (dict(drop=["emb_cnn_code.bias"]), r"1 keys missing \(e.g. \['emb_cnn_code.bias'\]\)"),
        (dict(add={"fc.weight": torch.zeros(1000, 2048)}), r"unexpected \(e.g. \['fc.weight'\]\)"),
        (dict(reshape={"emb_features.weight": (256, 768)}), r"\('emb_features.weight', \(256, 768\), "
                                                            r"\(256, 768, 1, 1\)\)"),
    ]:
        path = tmp_path / "image_encoder7.pth"
        save_released(_with(ims, **change), path)
        with pytest.raises(ValueError, match=message) as e:
            rel.load_released_damsm(f"{root}/DAMSMencoders/bird/text_encoder7.pth,{path},"
                                    f"{root}/data/birds/captions.pickle")
        assert str(path) in str(e.value)


def test_batchnorm_counters_may_be_in_the_file():
    from t2ibench.safe_load import check_state_dict

    spec = {"a.bn.weight": (2,), "a.bn.running_mean": (2,)}
    ok = {"a.bn.weight": torch.ones(2), "a.bn.running_mean": torch.zeros(2)}
    check_state_dict(ok, spec, "f.pth", "x")
    check_state_dict({**ok, "a.bn.num_batches_tracked": torch.tensor(5)}, spec, "f.pth", "x")
    with pytest.raises(ValueError, match="unexpected .*'b.num_batches_tracked'"):  # a counter of no BatchNorm
        check_state_dict({**ok, "b.num_batches_tracked": torch.tensor(5)}, spec, "f.pth", "x")
    with pytest.raises(ValueError, match="non-floating"):
        check_state_dict({**ok, "a.bn.weight": torch.ones(2, dtype=torch.long)}, spec, "f.pth", "x")


# ----------------------------------------------------------------------------- known files
def test_released_names_must_have_the_released_size_and_sha256(release, tmp_path):
    _, _, _, root = release
    vocab = f"{root}/data/birds/captions.pickle"
    image = f"{root}/DAMSMencoders/bird/image_encoder7.pth"
    named = tmp_path / "text_encoder200.pth"
    named.write_bytes((root / "DAMSMencoders/bird/text_encoder7.pth").read_bytes())
    with pytest.raises(ValueError, match="released DAMSMencoders/bird/text_encoder200.pth but not its size: "
                                         "expected 8,302,463 bytes"):
        rel.load_released_damsm(f"{named},{image},{vocab}", dataset="cub")
    named.write_bytes(b"\0" * 8_302_463)     # the released size, other content
    with pytest.raises(ValueError, match="expected sha256 d7278a9b4801633eb42d43de67cba51746daf5143be532660bf1c15608"):
        rel.load_released_damsm(f"{named},{image},{vocab}", dataset="cub")
    # no released DAMSM for flowers: a file of that name is just a file there
    named.write_bytes((root / "DAMSMencoders/bird/text_encoder7.pth").read_bytes())
    _, _, _, info = rel.load_released_damsm(f"{named},{image},{vocab}", dataset="flowers")
    assert "unknown weights" in info["weights_warning"]


def test_known_files_load_without_a_warning(release, monkeypatch):
    _, _, _, root = release
    te, ie = root / "DAMSMencoders/bird/text_encoder7.pth", root / "DAMSMencoders/bird/image_encoder7.pth"
    table = {"cub": {p.name: {"size": p.stat().st_size, "sha256": sha256_file(p), "release": f"bird/{p.name}"}
                     for p in (te, ie)}}
    monkeypatch.setattr(rel, "KNOWN_FILES", table)
    _, tok, weights_id, info = rel.load_released_damsm(f"{te},{root}/data/birds/captions.pickle", dataset="cub")
    assert info["weights_warning"] is None and tok.max_len == 25
    assert known_weights("damsm") == {f"bird/{te.name}": sha256_file(te), f"bird/{ie.name}": sha256_file(ie)}


def test_known_table_is_consistent():
    table = known_weights("damsm")
    assert table["DAMSMencoders/bird/text_encoder200.pth"].startswith("d7278a9b")
    assert table["DAMSMencoders/bird/image_encoder200.pth"].startswith("459e25c9")
    for files in rel.KNOWN_FILES.values():
        for entry in files.values():
            assert len(entry["sha256"]) == 64 and int(entry["sha256"], 16) >= 0 and entry["size"] > 0
    # the text encoders' sizes fit AttnGAN's architecture: n_words x 300 floats + the LSTM + ~1.2 kB of pickle
    lstm = 2 * 4 * (512 * 300 + 512 * 128 + 512 + 512)
    for name, n_words in (("cub", 5450), ("coco", 27297)):
        size = next(e["size"] for k, e in rel.KNOWN_FILES[name].items() if k.startswith("text_encoder"))
        assert 0 < size - (n_words * 300 * 4 + lstm) < 2000


def test_a_zoo_model_trains_with_the_released_damsm(tmp_path):
    """AttnGAN (tiny config, one step) conditioned on a released-format DAMSM, DAMSM loss through its
    Inception image encoder; the manifest names the three files and their combined sha256."""
    from models.train import train_model
    from t2ibench.data import load_dataset

    torch.set_num_threads(1)
    ds = load_dataset("shapes", split="train", n_train=64, n_test=64, progress=False)
    words = ["<end>"] + sorted({t for i in range(len(ds)) for c in ds.captions(i) for t in attngan_tokens(c)})
    save_released(text_state(len(words)), tmp_path / "text_encoder5.pth")
    save_released(image_state(), tmp_path / "image_encoder5.pth")
    write_captions_pickle(tmp_path / "captions.pickle", words=words,
                          structure=[[], [], dict(enumerate(words)), {w: i for i, w in enumerate(words)}])
    spec = f"{tmp_path}/text_encoder5.pth,{tmp_path}/captions.pickle"
    manifest = train_model("attngan", "tiny", out_dir=tmp_path / "runs", epochs=1, steps_per_epoch=1, quality_n=0,
                           progress=False, n_train=64, probe_n=0, overrides={"train": {"batch_size": 4}},
                           text_encoder_weights=spec)
    _, _, weights_id, _ = rel.load_released_damsm(spec, "shapes", "train")
    assert manifest["text_encoder"]["weights"] == "text_encoder5.pth, image_encoder5.pth, captions.pickle"
    assert manifest["text_encoder_sha256"] == weights_id


def test_r_precision_runs_with_the_released_damsm_on_real_coco(shared_dir, tmp_path):
    """The single pass on coco-mini with released-format files: the dataset's name picks COCO's
    evaluation word limit (20), the result names the files and carries the unknown-weights warning."""
    import t2ibench
    from t2ibench.data import load_dataset

    torch.set_num_threads(1)
    root = shared_dir / "data" / "coco-mini"
    test = load_dataset("coco", split="test", root=root)
    caps = [c for split in ("train", "test") for ds in [load_dataset("coco", split=split, root=root)]
            for i in range(len(ds)) for c in ds.captions(i)]
    words = ["<end>"] + sorted({t for c in caps for t in attngan_tokens(c)})
    save_released(text_state(len(words)), tmp_path / "text_encoder1.pth")
    save_released(image_state(), tmp_path / "image_encoder1.pth")
    write_captions_pickle(tmp_path / "captions.pickle", words=words,
                          structure=[[], [], dict(enumerate(words)), {w: i for i, w in enumerate(words)}])
    spec = f"{tmp_path}/text_encoder1.pth,{tmp_path}/captions.pickle"
    with pytest.warns(UserWarning, match="unknown weights"):
        result = t2ibench.evaluate("real", test, metrics=["r-precision"], n_images=10, progress=False,
                                   extractor_weights={"damsm": spec})
    rp = result.metrics["r-precision"]
    assert rp["n"] == 10 and 0.0 <= rp["value"] <= 1.0 and rp["extractor"] == "damsm"
    described = result.extractors["damsm"]
    assert described["words_num"] == 20 and described["trained_on"] == "AttnGAN's released DAMSM"
    assert described["files"]["image"]["sha256"] == sha256_file(tmp_path / "image_encoder1.pth")
    assert any("unknown weights" in w and "image_encoder1.pth" in w for w in result.warnings)
