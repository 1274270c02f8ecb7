"""CPGAN (Liang, Pei, Lu, ECCV 2020): hinge losses (Eq. 4-5) on a hand case, the memory of Eq. 7 on a tiny hand
example, the object-aware image encoder's 256 x 100 output (Eq. 10), the FGCD's patch-word attention (Eq. 11),
generated images never reading ground-truth boxes, every row of Figure 6 as a variant, training smoke runs,
the generate contract, the pretrained parts (detector, encoders) and the paper config at full size (slow)."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

import models.cpgan  # noqa: F401  (registers cpgan, its variants and its text encoders)
from models.common.data import GANTrainingData
from models.common.gan import GeneratorOutput, TrainBatch
from models.common.text_encoder import ZOO_WEIGHTS_DIR, EncodedText, text_encoder_for
from models.common.zoo import MODELS, list_variants, load_pretrained
from models.cpgan import detector as det
from models.cpgan import encoders as enc
from models.cpgan import memory as mem
from models.cpgan.configs import ABLATION_EPOCHS, TABLE
from models.cpgan.model import CPGAN, TEXT_ENCODERS
from models.cpgan.networks import FineGrainedDiscriminator
from models.train import train_model
from t2ibench.data import load_dataset
from interruption import killed_in_epoch, without_timings

ROWS = {"baseline": (False, False, False), "mate": (True, False, False), "oaie": (False, True, False),
        "fgcd": (False, False, True), "mate-oaie": (True, True, False), "mate-fgcd": (True, False, True),
        "oaie-fgcd": (False, True, True), "full": (True, True, True)}
CAPTIONS = ["a big red circle on a black background", "a small blue square in the top left corner",
            "there is a large green triangle on a white background", "a tiny yellow star on plain gray"]


@pytest.fixture(scope="module")
def shapes_small():
    return load_dataset("shapes", split="train", image_size=64, n_train=64, n_test=64, progress=False)


@pytest.fixture(scope="module")
def text_encoders():
    """The shipped zoo text encoders of Figure 6's rows, loaded once."""
    return {name: text_encoder_for({"text_encoder": name}, "shapes") for name in set(TEXT_ENCODERS.values())}


# ----------------------------------------------------------------------------- Eq. 4-5
class _LogitStub(nn.Module):
    """A discriminator whose 'image' is its logits: column 0 the unconditional one, column 1 the conditional
    one, scaled by the condition (the sentence, one number) so that the mismatched caption changes it."""

    uncond_head = True                       # it has an unconditional head

    def features(self, x):
        return x

    def uncond_logits(self, h):
        return h[:, 0]

    def cond_logits(self, h, c):
        return h[:, 1] * c[:, 0]


def test_hinge_losses_of_eq_4_and_5_on_a_hand_case():
    model = CPGAN(MODELS.get("cpgan").config("tiny", fgcd=False, mate=False, oaie=False, text_encoder="damsm",
                                             damsm_lambda=0.0))
    model.discriminators = nn.ModuleList([_LogitStub(), _LogitStub()])
    real = [torch.tensor([[0.5, 2.0], [-1.5, 0.25]], dtype=torch.float64),
            torch.tensor([[1.5, -0.5], [0.0, 3.0]], dtype=torch.float64)]
    fake = [torch.tensor([[-2.0, 0.5], [0.75, -0.25]], dtype=torch.float64),
            torch.tensor([[0.2, 1.2], [-0.4, -3.0]], dtype=torch.float64)]
    sentence = torch.tensor([[1.0], [2.0]], dtype=torch.float64)      # wrong captions: rolled by one -> [2, 1]
    text = EncodedText(sentence, torch.zeros(2, 1, 1, dtype=torch.float64), torch.zeros(2, 1, dtype=torch.bool),
                       torch.ones(2, dtype=torch.long))
    batch = TrainBatch(real, text, torch.zeros(2, dtype=torch.long))
    out = GeneratorOutput(fake, torch.zeros(2, 3, dtype=torch.float64), torch.zeros(2, 3, dtype=torch.float64))

    def relu(v):
        return np.maximum(0.0, v)

    s, s_wrong = np.array([1.0, 2.0]), np.array([2.0, 1.0])
    expected_d, expected_g = 0.0, 0.0
    for r, f in zip(real, fake):
        r, f = r.numpy(), f.numpy()
        expected_d += (relu(1 - r[:, 0]).mean() / 2 + relu(1 + f[:, 0]).mean() / 3 + relu(1 - r[:, 1] * s).mean() / 2
                       + relu(1 + f[:, 1] * s).mean() / 3 + relu(1 + r[:, 1] * s_wrong).mean() / 3)
        expected_g += -f[:, 0].mean() / 2 - (f[:, 1] * s).mean() / 2
    d = model.discriminator_loss(batch, out)["loss"]
    g = model.generator_loss(batch, out)
    assert d.dtype == torch.float64 and float(d) == pytest.approx(expected_d, abs=1e-12)
    assert float(g["adv"]) == pytest.approx(expected_g, abs=1e-12)
    assert float(g["loss"]) == pytest.approx(expected_g, abs=1e-12)       # KL 0 (μ = log σ² = 0), no TISCL
    # the first stage written out: ½·mean(0.5, 2.5) + ⅓·mean(0, 1.75) + ½·mean(0, 0.5) + ⅓·mean(1.5, 0.5)
    # + ⅓·mean(5, 1.25) (the mismatched pairs: 2·2 = 4 and 0.25·1)
    stage0 = (0.5 * (0.5 + 2.5) / 2 + (0.0 + 1.75) / 2 / 3 + 0.5 * (0.0 + 0.5) / 2 + (1.5 + 0.5) / 2 / 3
              + (5.0 + 1.25) / 2 / 3)
    assert float(model.discriminator_loss(batch, out)["stage0"]) == pytest.approx(stage0, abs=1e-12)


# ----------------------------------------------------------------------------- Eq. 7
def test_memory_of_eq_7_on_a_tiny_hand_example():
    """Word 0 is in the captions of images 0, 1 and 3 (not 2); their most salient regions have attention 0.8
    (region 0 of image 0), 0.6 (region 2 of image 1) and 0.7 (region 1 of image 3); with K = 2 the top two are
    images 0 and 3: m_0 = (0.8·[1, 0] + 0.7·[1, 5]) / 1.5. Word 1 is in no caption: zero memory. Word 2 is only
    in image 2's captions: its one region."""
    features = [torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([[2.0, 2.0], [4.0, 0.0], [0.0, 4.0]]),
                torch.tensor([[3.0, 3.0]]), torch.tensor([[5.0, 1.0], [1.0, 5.0]])]
    attention = [torch.tensor([[0.8, 0.5, 0.1], [0.2, 0.5, 0.9]]),
                 torch.tensor([[0.1, 1, 0], [0.3, 0, 0], [0.6, 0, 1]]),
                 torch.tensor([[1.0, 1.0, 1.0]]), torch.tensor([[0.3, 0.5, 0.2], [0.7, 0.5, 0.8]])]
    relevant = torch.tensor([[1, 0, 0], [1, 0, 0], [0, 0, 1], [1, 0, 0]], dtype=torch.bool)
    memory = mem.memory_from_salience(features, attention, relevant, top_k=2, chunk=3)   # two chunks: merging too
    assert torch.allclose(memory[0], torch.tensor([1.5 / 1.5, 3.5 / 1.5]))
    assert torch.equal(memory[1], torch.zeros(2)) and torch.allclose(memory[2], torch.tensor([3.0, 3.0]))
    # K = 3: all three relevant images
    memory = mem.memory_from_salience(features, attention, relevant, top_k=3)
    assert torch.allclose(memory[0], (0.8 * torch.tensor([1.0, 0]) + 0.6 * torch.tensor([0, 4.0])
                                      + 0.7 * torch.tensor([1.0, 5])) / 2.1)


def test_word_label_lift_and_salience_by_hand():
    """Two labels (red circle, blue square), three images; the word 'crimson' is in the captions of images 0 and
    1, which hold the red circle: P(red | crimson) = 1, P(red) = 2/3 -> lift 1.5; P(blue | crimson) = 1/2,
    P(blue) = 2/3 -> lift 0.75. In an image with both, the red circle gets 1.5 / 2.25 of the word's attention."""
    presence = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    words = torch.tensor([[True], [True], [False]])
    lift = mem.word_label_lift(presence, words)
    assert torch.allclose(lift[:, 0], torch.tensor([1.5, 0.75]))
    a = mem.salience(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([1.0, 1.0]), lift)
    assert torch.allclose(a[:, 0], torch.tensor([1.5 / 2.25, 0.75 / 2.25]))
    # detector confidences scale a region's score; no evidence at all: uniform attention
    a = mem.salience(torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0.5, 1.0]), lift)
    assert torch.allclose(a[:, 0], torch.tensor([0.75 / 1.5, 0.75 / 1.5]))
    assert torch.equal(mem.salience(torch.zeros(3, 2), torch.ones(3), lift)[:, 0], torch.full((3,), 1 / 3))


def test_memory_from_a_detections_file_equals_the_ground_truth_route(shapes_small, tmp_path):
    """The real-data route: a detections file holding the ground-truth boxes (confidence 1) builds the same memory
    as the ground-truth boxes themselves; a malformed entry is a clear error."""
    detector, _, _ = det.load_detector(det.weights_path("shapes", ZOO_WEIGHTS_DIR))
    tokenizer = text_encoder_for({"text_encoder": "cpgan-mate"}, "shapes").tokenizer
    s = shapes_small.image_size
    def largest_first(boxes):
        return sorted(boxes, key=lambda b: -(b.x1 - b.x0) * (b.y1 - b.y0))

    images = {shapes_small.key(i): [{"box": [b.x0 / s, b.y0 / s, b.x1 / s, b.y1 / s], "label": b.label, "score": 1.0}
                                    for b in largest_first(shapes_small.boxes(i))]
              for i in range(len(shapes_small))}                         # the largest first, as the boxes route
    path = tmp_path / "detections.json"
    path.write_text(json.dumps({"format": mem.DETECTIONS_FORMAT, "images": images}))
    from_boxes, summary = mem.build_memory(shapes_small, tokenizer, detector, "boxes", top_k=5)
    from_file, _ = mem.build_memory(shapes_small, tokenizer, detector, "file", detections=path, top_k=5)
    assert summary["words_with_memory"] > 20 and torch.allclose(from_boxes, from_file)
    first = shapes_small.key(0)
    images[first][0]["box"] = [0.5, 0.5, 0.2, 0.9]
    path.write_text(json.dumps({"format": mem.DETECTIONS_FORMAT, "images": images}))
    with pytest.raises(ValueError, match=f"image '{first}' entry 0"):
        mem.read_detections(path, shapes_small)
    path.write_text("{}")
    with pytest.raises(ValueError, match="cpgan-detections-v1"):
        mem.read_detections(path, shapes_small)


def test_the_memory_is_part_of_the_encoders_weights_file():
    from safetensors.torch import load_file

    encoder = text_encoder_for({"text_encoder": "cpgan-mate"}, "shapes")
    stored = load_file(str(encoder.path))["text_encoder.encoder.memory"]
    assert torch.equal(encoder.damsm.text_encoder.memory, stored)
    assert stored.shape == (encoder.tokenizer.vocab_size, encoder.damsm.config["region_dim"])
    assert int((stored.abs().sum(1) > 0).sum()) == encoder.manifest["memory"]["words_with_memory"] > 50
    assert torch.equal(stored[:2], torch.zeros_like(stored[:2]))          # <pad>, <unk>: in no caption


# ----------------------------------------------------------------------------- Eq. 8-10
def test_mate_fusion_and_sentence_switches():
    config = enc.make_config(vocab_size=20, max_len=6, region_dim=8, mem_hidden=16, nef=32, emb_dim=12)
    torch.manual_seed(0)
    ids, lengths = torch.tensor([[3, 4, 5, 0], [6, 7, 0, 0]]), torch.tensor([3, 2])
    for fusion, width in (("paper", 12 + 32), ("code", 12)):
        mate = enc.MATE({**config, "fusion": fusion}).eval()
        assert mate.encoder(ids).shape == (2, 4, width) and mate.rnn.input_size == width
    mate = enc.MATE({**config, "sentence": "paper"}).eval()
    mate.memory.normal_()
    words, sentence = mate(ids, lengths)
    assert words.shape == (2, 32, 6) and torch.equal(sentence, torch.stack([words[0, :, 2], words[1, :, 1]]))
    code = enc.MATE({**config, "sentence": "code"}).eval()
    code.load_state_dict(mate.state_dict())
    assert torch.equal(code(ids, lengths)[0], words) and not torch.equal(code(ids, lengths)[1], sentence)
    # the memory enters the words: another memory, other word features
    mate.memory.add_(1.0)
    assert not torch.allclose(mate(ids, lengths)[0], words)


def test_oaie_output_is_256_x_100_with_36_padded_regions_and_the_8x8_grid():
    from t2ibench.evaluators.damsm import word_similarities

    config = enc.make_config(vocab_size=20, max_len=6, region_dim=24)
    torch.manual_seed(0)
    oaie = enc.ObjectAwareImageEncoder(config, region_dim=24).eval().requires_grad_(False)
    x = torch.rand(3, 3, 64, 64) * 2 - 1
    feats, valid = torch.randn(3, 5, 24), torch.tensor([[1, 1, 0, 0, 0], [1, 1, 1, 1, 1], [0, 0, 0, 0, 0]]).bool()
    v, f = oaie(x, feats, valid)
    assert v.shape == (3, 256, 100) and f.shape == (3, 256)
    present = torch.cat([valid, torch.zeros(3, 31, dtype=torch.bool)], dim=1)
    norms = v[:, :, :36].abs().sum(1)
    assert (norms[present] > 0).all() and (norms[~present] == 0).all()       # padded regions: zero columns
    assert (v[:, :, 36:].abs().sum(1) > 0).all()                           # the 64 grid cells
    grid_only, _ = oaie(x)
    assert torch.equal(grid_only[:, :, 36:], v[:, :, 36:])
    assert torch.equal(grid_only[:, :, :36], torch.zeros(3, 256, 36))
    # zero padding is exact masking for the word-level score (Eq. 15-19)
    words, lengths = torch.randn(3, 256, 6, dtype=torch.float64), torch.tensor([4, 6, 2])
    full = word_similarities(v.double(), words, lengths)
    kept = [v[i][:, torch.cat([valid[i].nonzero().flatten(), torch.arange(36, 100)])] for i in range(3)]
    for i in range(3):
        for j in range(3):
            one = word_similarities(kept[i][None].double(), words[j:j + 1], lengths[j:j + 1])
            assert float(one) == pytest.approx(float(full[i, j]), rel=1e-9, abs=1e-9)
    # without object regions (image="grid"): AttnGAN's 8x8 grid alone
    assert enc.ObjectAwareImageEncoder(config, region_dim=None)(x)[0].shape == (3, 256, 64)


def test_oaie_with_an_inception_backbone_pools_mixed_6e_to_the_8x8_grid():
    """The real-weights route (ImageNet Inception-v3 from a user's file; random weights here): Mixed_6e's 17x17
    max-pooled to 8x8 as the released CNN_ENCODER, 36 + 64 columns."""
    config = enc.make_config(vocab_size=20, max_len=6, region_dim=24, backbone="inception")
    assert config["input_size"] == 299
    oaie = enc.ObjectAwareImageEncoder(config, region_dim=24).eval()
    with torch.no_grad():
        v, f = oaie(torch.rand(1, 3, 299, 299) * 2 - 1, torch.randn(1, 2, 24), torch.ones(1, 2, dtype=torch.bool))
    assert v.shape == (1, 256, 100) and f.shape == (1, 256)


def test_shipped_encoders_encode_shapes_images_with_detected_regions(shapes_small, text_encoders):
    encoder = text_encoders["cpgan-mate"]
    x = shapes_small.images(range(8)).float() / 127.5 - 1
    with torch.no_grad():
        v, f = encoder.damsm.encode_images(x)
        detections = encoder.damsm.detector.detect(x)
    assert v.shape == (8, 256, 100) and f.shape == (8, 256)
    found = (v[:, :, :36].abs().sum(1) > 0)
    assert torch.equal(found, detections.valid[:, :36]) and found.sum() >= 8       # shapes: 1-3 objects each
    assert text_encoders["cpgan-mate-grid"].damsm.encode_images(x)[0].shape == (8, 256, 64)
    text = encoder.encode(CAPTIONS)
    assert text.words.shape == (4, 256, 18) and text.sentence.shape == (4, 256)


# ----------------------------------------------------------------------------- Eq. 11
def test_fgcd_patch_word_attention_shapes():
    torch.manual_seed(0)
    d = FineGrainedDiscriminator(64, 16, 256).eval()
    n, t = 3, 18
    lengths = torch.tensor([5, 18, 1])
    mask = torch.arange(t)[None] >= lengths[:, None]
    text = EncodedText(torch.randn(n, 256), torch.randn(n, 256, t), mask, lengths)
    h = d.features(torch.rand(n, 3, 64, 64) * 2 - 1)
    assert h.shape == (n, 128, 4, 4)
    context, attention = d.patch_context(h, text)
    assert context.shape == (n, 128, 4, 4) and attention.shape == (n, t, 4, 4)
    assert torch.allclose(attention.sum(1), torch.ones(n, 4, 4))
    assert torch.equal(attention.permute(0, 2, 3, 1)[mask[:, None, None, :].expand(-1, 4, 4, -1)],
                       torch.zeros(int(mask.sum()) * 16))               # padding words get no attention
    assert d.cond_logits(h, text).shape == (n, 16)                      # one logit per patch
    assert d.cond_logits(h, text.roll(1)).shape == (n, 16) and d.uncond_logits(h).shape == (n,)


# ----------------------------------------------------------------------------- no ground-truth boxes for fakes
class _Poisoned(dict):
    """Extras that fail on any read: a loss that looked at the batch's ground-truth boxes would raise."""

    def _fail(self, *args, **kwargs):
        raise AssertionError("the loss read the batch's extras (ground-truth boxes)")

    __getitem__ = get = __contains__ = items = keys = values = __iter__ = __len__ = _fail


def test_generated_images_never_receive_ground_truth_boxes(shapes_small, text_encoders, monkeypatch):
    """The full model's losses read no ground-truth box (a batch whose extras raise on any access gives the same
    losses); the object regions of the generated images in the TISCL are the detector's on those images."""
    torch.manual_seed(0)
    config = MODELS.get("cpgan").config("tiny")
    model = CPGAN(config)
    model.text_encoder = text_encoders["cpgan-mate"]
    data = GANTrainingData(shapes_small, model.text_encoder, model.image_sizes, 0, config["train"], extras=("boxes",))
    batch = data.batch(torch.arange(6), 0, "cpu")
    assert batch.extras["boxes"].shape[0] == 6                           # the real images' boxes are in the batch
    with torch.no_grad():
        out = model.generator(batch.text, torch.randn(6, model.noise_dim))
    seen = []
    pair = model.text_encoder.damsm
    real_region_features = pair.detector.region_features
    monkeypatch.setattr(pair.detector, "region_features",
                        lambda fmap, boxes, valid: seen.append((boxes.clone(), valid.clone()))
                        or real_region_features(fmap, boxes, valid))
    g, d = model.generator_loss(batch, out), model.discriminator_loss(batch, out.detached())
    batch.extras = _Poisoned()
    g2, d2 = model.generator_loss(batch, out), model.discriminator_loss(batch, out.detached())
    assert torch.equal(g["loss"], g2["loss"]) and torch.equal(d["loss"], d2["loss"])
    from t2ibench.evaluators.damsm import fit_to_backbone

    with torch.no_grad():
        detected = pair.detector.detect(fit_to_backbone(out.images[-1], pair.config, value_range=(-1.0, 1.0)))
    boxes, valid = seen[0]
    assert torch.equal(valid, detected.valid) and torch.equal(boxes, detected.boxes)


# ----------------------------------------------------------------------------- Figure 6
def test_every_row_of_figure_6_is_a_variant_at_one_budget():
    assert set(list_variants("cpgan")) == {f"cpgan/{v}" for v in ROWS}
    assert set(list_variants(table=TABLE)) == {f"cpgan/{v}" for v in ROWS}
    base = MODELS.get("cpgan").config("tiny")
    for row, (mate, oaie, fgcd) in ROWS.items():
        config = MODELS.get(f"cpgan/{row}").config("tiny")
        assert (config["mate"], config["oaie"], config["fgcd"]) == (mate, oaie, fgcd)
        assert config["text_encoder"] == TEXT_ENCODERS[(mate, oaie)] and config["train"]["epochs"] == ABLATION_EPOCHS
        switches = ("mate", "oaie", "fgcd", "text_encoder", "train")
        assert {k: v for k, v in config.items() if k not in switches} == {k: v for k, v in base.items()
                                                                            if k not in switches}
        assert {**config["train"], "epochs": 0} == {**base["train"], "epochs": 0}
        assert MODELS.get(f"cpgan/{row}").config("paper")["train"]["epochs"] == ABLATION_EPOCHS
    full = MODELS.get("cpgan/full").config("tiny")
    assert {k: v for k, v in full.items() if k != "train"} == {k: v for k, v in base.items() if k != "train"}


@pytest.mark.parametrize("row", list(ROWS))
def test_each_variants_switches_change_its_networks_and_losses(row, shapes_small, text_encoders):
    mate, oaie, fgcd = ROWS[row]
    entry = MODELS.get(f"cpgan/{row}")
    config = entry.config("tiny")
    torch.manual_seed(0)
    model = entry.build(config)
    model.text_encoder = text_encoders[config["text_encoder"]]
    assert all(isinstance(d, FineGrainedDiscriminator) is fgcd for d in model.discriminators)
    assert all((d.cond_head.kernel_size == (1, 1)) is fgcd for d in model.discriminators)
    pair = model.text_encoder.damsm
    assert isinstance(pair.text_encoder, enc.MATE) is mate
    assert getattr(pair, "has_objects", False) is oaie
    data = GANTrainingData(shapes_small, model.text_encoder, model.image_sizes, 0, config["train"])
    batch = data.batch(torch.arange(4), 0, "cpu")
    out = model.generator(batch.text, torch.randn(4, model.noise_dim))
    terms = model.generator_loss(batch, out)
    terms["loss"].backward()
    assert all(math.isfinite(float(v.detach())) for v in terms.values())
    assert {"damsm_w", "damsm_s", "adv", "kl"} <= set(terms)
    assert model.generator.init.fc[0].weight.grad.abs().sum() > 0
    assert math.isfinite(float(model.discriminator_loss(batch, out.detached())["loss"].detach()))


def test_grid_alone_for_generated_images_is_a_config_switch(shapes_small, text_encoders):
    config = MODELS.get("cpgan").config("tiny", fake_regions="grid")
    model = CPGAN(config)
    model.text_encoder = text_encoders["cpgan-mate"]
    calls = []
    pair = model.text_encoder.damsm
    original = pair.encode_images
    pair.encode_images = lambda x, **kw: calls.append(kw) or original(x, **kw)
    try:
        data = GANTrainingData(shapes_small, model.text_encoder, model.image_sizes, 0, config["train"])
        batch = data.batch(torch.arange(4), 0, "cpu")
        model.generator_loss(batch, model.generator(batch.text, torch.randn(4, model.noise_dim)))
    finally:
        del pair.encode_images
    assert calls == [{"objects": False}]
    assert MODELS.get("cpgan").config("tiny")["fake_regions"] == MODELS.get("cpgan").config("paper")["fake_regions"] \
        == "detector"


@pytest.mark.parametrize(("overrides", "message"), [
    ({"fgcd": "yes"}, "fgcd must be true or false"),
    ({"mate": False}, "text_encoder 'cpgan-mate' does not fit mate=False, oaie=True; expected 'cpgan-oaie'"),
    ({"fake_regions": "ground-truth"}, "fake_regions must be one of detector, grid"),
    ({"truncation": -1}, "truncation must be a positive number"),
])
def test_bad_config_values_are_clear_errors(overrides, message):
    with pytest.raises(ValueError, match=message):
        CPGAN(MODELS.get("cpgan").config("tiny", **overrides))


# ----------------------------------------------------------------------------- training and generation
@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("cpgan-run")
    manifest = train_model("cpgan", "tiny", out_dir=out, n_train=64, max_steps=2, quality_n=0, probe_n=0,
                           progress=False, overrides={"train": {"batch_size": 8}})
    return out / "cpgan", manifest


def test_training_smoke_run_records_its_pretrained_parts(trained_run):
    from t2ibench.evaluators.checkpoint import WEIGHTS_DIR
    from t2ibench.io import sha256_file

    run, manifest = trained_run
    assert all(math.isfinite(v) for h in manifest["history"] for k, v in h.items() if k.endswith("loss"))
    assert {"d_loss", "g_loss", "g_damsm_w", "g_adv"} <= set(manifest["history"][0])
    assert (run / "checkpoint.safetensors").is_file() and (run / "losses.csv").is_file()
    roles = {r["role"].split(" (")[0]: r for r in manifest["pretrained"]}
    assert set(roles) == {"text encoder and TISCL image encoder", "detector"}
    evaluators = {sha256_file(p) for p in WEIGHTS_DIR.glob("*.safetensors")}
    for record in manifest["pretrained"]:
        assert record["sha256"] == sha256_file(ZOO_WEIGHTS_DIR / record["weights"])
        assert record["sha256"] not in evaluators
    assert manifest["text_encoder"]["name"] == "cpgan-mate" and manifest["text_encoder_sha256"] not in evaluators


def test_generate_contract(trained_run, shapes_test):
    run, _ = trained_run
    gen = load_pretrained("cpgan", shapes_test, weights=run / "cpgan-shapes.safetensors")
    assert gen.truncation == (64, 2.0)                                     # truncated z at generation
    a = gen.generate(CAPTIONS, seed=3)
    assert a.dtype == torch.uint8 and a.shape == (4, 3, 64, 64)
    assert torch.equal(a, gen.generate(CAPTIONS, seed=3)) and not torch.equal(a, gen.generate(CAPTIONS, seed=4))
    assert torch.equal(a, torch.cat([gen.generate(CAPTIONS[:2], seed=3), gen.generate(CAPTIONS[2:], seed=5)]))


def _short_run(out):
    return train_model("cpgan", "tiny", out_dir=out, epochs=2, steps_per_epoch=2, n_train=64, quality_n=0,
                       probe_n=0, progress=False, overrides={"train": {"batch_size": 8}})


def test_interrupted_training_resumes_with_the_same_weights(tmp_path, monkeypatch):
    """Killed in epoch 2 and rerun: the same exported weights and history as an uninterrupted run (the memory,
    detector and encoders are frozen files, so nothing but the checkpoint carries state)."""
    from models.common.checkpoint import load_training_state

    torch.set_num_threads(1)
    ref = _short_run(tmp_path / "ref")
    killed_in_epoch(monkeypatch, 1, lambda: _short_run(tmp_path / "run"))
    assert load_training_state(tmp_path / "run" / "cpgan" / "checkpoint.safetensors")["epoch"] == 1
    resumed = _short_run(tmp_path / "run")
    assert resumed["sha256"] == ref["sha256"]
    assert without_timings(resumed["history"]) == without_timings(ref["history"])


def test_a_variant_trains_and_generates_with_its_own_text_encoder(tmp_path, shapes_test):
    torch.set_num_threads(1)
    manifest = train_model("cpgan/oaie-fgcd", "tiny", out_dir=tmp_path, n_train=64, max_steps=1, quality_n=0,
                           probe_n=0, progress=False, overrides={"train": {"batch_size": 8}})
    assert manifest["text_encoder"]["name"] == "cpgan-oaie" and manifest["config"]["fgcd"] is True
    weights = next(p for p in (tmp_path / "cpgan" / "oaie-fgcd").rglob("*-shapes.safetensors"))
    gen = load_pretrained("cpgan/oaie-fgcd", shapes_test, weights=weights)
    assert gen.generate(CAPTIONS[:2], seed=0).shape == (2, 3, 64, 64)


# ----------------------------------------------------------------------------- the pretrained parts
def test_shipped_detector_and_encoders_are_stand_ins_with_held_out_quality():
    from t2ibench.evaluators.checkpoint import WEIGHTS_DIR
    from t2ibench.io import sha256_file

    evaluators = {sha256_file(p) for p in WEIGHTS_DIR.glob("*.safetensors")}
    detector = json.loads(det.weights_path("shapes", ZOO_WEIGHTS_DIR).with_suffix(".json").read_text())
    assert detector["seed"] == 4 and detector["command"].startswith("python -m models.cpgan.detector --dataset shapes")
    assert detector["heldout_recall"] > 0.8 and detector["heldout_mean_iou"] > 0.6
    assert "YOLOv3" in detector["description"]
    for name in enc.VARIANTS:
        path = enc.weights_path("shapes", name)
        manifest = json.loads(path.with_suffix(".json").read_text())
        assert manifest["seed"] == 5 and manifest["sha256"] == sha256_file(path) not in evaluators
        assert manifest["detector"]["sha256"] == detector["sha256"]
        assert manifest["heldout_r_precision"] > 0.9
        assert manifest["command"].startswith("python -m models.cpgan.encoders")
        assert (manifest["memory"] is None) is (name == "cpgan-oaie")


def test_detector_finds_shapes_boxes_and_pools_their_features(shapes_small):
    detector, _, _ = det.load_detector(det.weights_path("shapes", ZOO_WEIGHTS_DIR))
    x = shapes_small.images(range(16)).float() / 127.5 - 1
    found = detector.detect(x)
    assert found.boxes.shape == (16, 36, 4) and found.valid.shape == (16, 36)
    assert found.valid.sum() >= 0.8 * sum(len(shapes_small.boxes(i)) for i in range(16))
    assert (found.scores[found.valid] >= detector.config["min_score"]).all()
    features = detector.region_features(detector.features(x), found.boxes, found.valid)
    assert features.shape == (16, 36, detector.feature_dim)
    assert (features[~found.valid] == 0).all() and (features[found.valid].abs().sum(1) > 0).all()


@pytest.mark.parametrize("module", [det, enc])
def test_pretraining_commands_have_help(module, capsys):
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0 and "--seed" in capsys.readouterr().out


def test_encoders_command_trains_a_small_pair_end_to_end(tmp_path):
    """The pretraining path on 64 images: memory pass, one epoch, held-out numbers, a loadable zoo text encoder."""
    torch.set_num_threads(1)
    manifest = enc.train(tmp_path, n_train=64, n_test=32, epochs=1, progress=False, batch_size=16, heldout_pairs=32,
                         config_overrides={"fusion": "code", "sentence": "paper"})
    assert manifest["memory"]["memory_regions"] == "boxes" and 0 <= manifest["heldout_recall_i2t_r1"] <= 1
    loaded = enc.MemoryAttendedTextEncoder("shapes", weights=tmp_path / "cpgan-encoders-shapes.safetensors")
    assert loaded.damsm.config["fusion"] == "code" and loaded.encode(CAPTIONS).sentence.shape == (4, 256)
    with pytest.raises(ValueError, match="holds the encoders 'cpgan-mate', not 'cpgan-oaie'"):
        enc.MemoryAttendedTextEncoder("shapes", weights=tmp_path / "cpgan-encoders-shapes.safetensors",
                                      name="cpgan-oaie")


# ----------------------------------------------------------------------------- the paper config, full size
@pytest.mark.slow
def test_paper_config_takes_a_real_training_step_at_full_size(tmp_path):
    torch.set_num_threads(2)
    train = {"batch_size": 2, "epochs": 1}
    manifest = train_model("cpgan", "paper", out_dir=tmp_path, dataset="shapes", n_train=4, steps_per_epoch=1,
                           quality_n=0, probe_n=0, progress=False, overrides={"train": train})
    assert manifest["config"]["image_size"] == 256 and manifest["config"]["stages"] == 3
    assert all(math.isfinite(v) for h in manifest["history"] for k, v in h.items() if k.endswith("loss"))
    gen = load_pretrained("cpgan", "shapes", weights=tmp_path / "cpgan" / "cpgan-shapes.safetensors")
    assert gen.generate(CAPTIONS[:1], seed=0).shape == (1, 3, 256, 256)
