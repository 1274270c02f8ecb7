"""The one trainer's declared features (issue 11, point 2): step decay and Adamax from the config, a
model without a discriminator, initialising from another trained model, truncated noise at
generation, and the training batches' crop, flip and object boxes — each against an independent
reference (scipy, the config's numbers, ground-truth boxes of ``shapes``)."""
from __future__ import annotations

import pytest
import torch

import models  # noqa: F401  (registers the zoo)
from models.common.checkpoint import load_training_state
from models.common.gan import GeneratorOutput, TextToImageGAN, truncate_normal
from models.common.phases import Phase, Update, learning_rate, make_optimizer
from models.common.trainer import CHECKPOINT, GANTrainer
from models.common.zoo import weights_path
from models.train import train_model
from t2ibench.data import load_dataset


def _tiny(out, name="gan-int-cls", epochs=2, train=None):
    return train_model(name, "tiny", out_dir=out, epochs=epochs, steps_per_epoch=2, quality_n=0, progress=False,
                       n_train=64, probe_n=0, overrides={"train": {"batch_size": 8, **(train or {})}})


def test_step_decay_formula():
    train = {"lr_g": 2e-4, "lr_decay_every": 100, "lr_decay_factor": 0.5}
    assert [learning_rate(train, "lr_g", e) for e in (0, 99, 100, 250)] == [2e-4, 2e-4, 1e-4, 5e-5]
    assert learning_rate({"lr_g": 2e-4, "lr_decay_every": None}, "lr_g", 1000) == 2e-4
    with pytest.raises(ValueError, match="train.optimizer"):
        make_optimizer([torch.nn.Parameter(torch.zeros(1))], {"optimizer": "sgd", "lr_g": 1e-3}, "lr_g")


def test_trainer_uses_the_configs_optimizer_and_decays_its_learning_rate(tmp_path):
    torch.set_num_threads(1)
    _tiny(tmp_path, train={"optimizer": "adamax", "lr_decay_every": 1, "lr_decay_factor": 0.25, "lr_g": 4e-4})
    state = load_training_state(tmp_path / "gan-int-cls" / CHECKPOINT)
    g, d = state["optimizers"]["g"], state["optimizers"]["d"]
    assert g["param_groups"][0]["lr"] == pytest.approx(1e-4) and d["param_groups"][0]["lr"] == pytest.approx(5e-5)
    assert all("exp_inf" in s for s in g["state"].values())        # torch.optim.Adamax's infinity-norm moment


class _PixelRegression(TextToImageGAN):
    """A model with no discriminator: a linear generator fitted to the real images by L1 (SDN's shape)."""

    name = "pixel-regression"
    image_sizes = (32,)
    noise_dim = 4

    def __init__(self):
        super().__init__({"train": {"epochs": 3, "batch_size": 8, "lr_g": 1e-2, "betas": [0.5, 0.999]}})
        self.generator = _LinearGenerator()

    def generator_loss(self, batch, out):
        loss = (out.images[0] - batch.images[0]).abs().mean()
        return {"loss": loss, "l1": loss.detach()}


class _LinearGenerator(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(256 + 4, 3 * 32 * 32)

    def forward(self, text, noise):
        return GeneratorOutput([torch.tanh(self.fc(torch.cat([text.sentence, noise], 1))).view(-1, 3, 32, 32)])


def test_a_model_without_discriminator_trains(tmp_path):
    from models.common.data import GANTrainingData
    from models.common.text_encoder import FrozenTextEncoder

    torch.set_num_threads(1)
    ds = load_dataset("shapes", split="train", image_size=32, n_train=64, n_test=64, progress=False)
    model = _PixelRegression()
    encoder = FrozenTextEncoder("shapes")
    assert [u.module for p in model.phases() for u in p.updates] == ["generator"]
    trainer = GANTrainer(model, GANTrainingData(ds, encoder, model.image_sizes, 0, model.config["train"]), tmp_path,
                         progress=False)
    history = trainer.fit()
    assert list(trainer.optimizers) == ["g"] and len(history) == 3
    assert history[-1]["g_l1"] < history[0]["g_l1"]


def test_phases_declare_their_own_updates_and_optimizers(tmp_path):
    """A model may declare any order of phases and updates; each phase starts with fresh optimizers."""
    torch.set_num_threads(1)
    model = _PixelRegression()
    model.phases = lambda: [Phase("warm-up", 1, (Update("g", "generator", "generator_loss", "lr_g"),)),
                            Phase("main", 2, (Update("g2", "generator", "generator_loss", "lr_g"),))]
    from models.common.data import GANTrainingData
    from models.common.text_encoder import FrozenTextEncoder

    ds = load_dataset("shapes", split="train", image_size=32, n_train=64, n_test=64, progress=False)
    trainer = GANTrainer(model, GANTrainingData(ds, FrozenTextEncoder("shapes"), (32,), 0, model.config["train"]),
                         tmp_path, progress=False)
    history = trainer.fit()
    assert [h["phase"] for h in history] == ["warm-up", "main", "main"] and "g2_l1" in history[-1]
    assert list(trainer.optimizers) == ["g2"]
    assert load_training_state(tmp_path / CHECKPOINT)["phase"] == 1


def test_init_from_a_checkpoint_a_generator_file_and_a_zoo_name(tmp_path):
    torch.set_num_threads(1)
    _tiny(tmp_path / "teacher", epochs=1)
    teacher = load_training_state(tmp_path / "teacher" / "gan-int-cls" / CHECKPOINT)
    ckpt = str(tmp_path / "teacher" / "gan-int-cls" / CHECKPOINT)
    student = _tiny(tmp_path / "student", epochs=1, train={"init_from": {"generator": ckpt, "discriminators": ckpt}})
    assert [r["network"] for r in student["init_from"]] == ["generator", "discriminators"]
    assert all(r["tensors_copied"] == r["tensors_in_network"] and len(r["sha256"]) == 64 for r in student["init_from"])

    # the first step starts from the teacher: with lr 0 the student's weights stay the teacher's
    frozen = _tiny(tmp_path / "frozen", epochs=1, train={"init_from": {"generator": ckpt}, "lr_g": 0.0, "lr_d": 0.0})
    state = load_training_state(tmp_path / "frozen" / "gan-int-cls" / CHECKPOINT)
    assert frozen["init_from"][0]["from"] == ckpt
    for k, v in teacher["generator"].items():
        if v.is_floating_point() and "running" not in k:       # BatchNorm statistics move even at lr 0
            assert torch.equal(state["generator"][k], v), k

    # a zoo name: that model's shipped generator for the dataset (fp16 file, verified sha256)
    named = _tiny(tmp_path / "named", epochs=1, train={"init_from": {"generator": "gan-int-cls"}})
    from t2ibench.evaluators.checkpoint import load_state

    assert named["init_from"][0]["file"] == str(weights_path("gan-int-cls", "shapes"))
    assert load_state(weights_path("gan-int-cls", "shapes"))[2] == named["init_from"][0]["sha256"]
    with pytest.raises(ValueError, match="neither a zoo model nor a file"):
        _tiny(tmp_path / "bad", epochs=1, train={"init_from": {"generator": "no-such-model"}})
    with pytest.raises(ValueError, match="generator file; it cannot initialise 'discriminators'"):
        _tiny(tmp_path / "bad2", epochs=1, train={"init_from": {"discriminators": "gan-int-cls"}})


def test_truncated_noise_is_the_truncated_normal_quantile():
    from scipy.stats import norm, truncnorm

    x = torch.linspace(-4, 4, 81, dtype=torch.float64)
    for t in (0.5, 1.0, 2.0):
        expected = truncnorm.ppf(norm.cdf(x.numpy()), -t, t)
        got = truncate_normal(x, t).numpy()
        assert abs(got - expected).max() < 1e-9 and abs(got).max() <= t


def test_crop_and_flip_move_pixels_and_boxes_together():
    """Ground truth from ``shapes``: after the 76/64 resize and random crop, the centre of the primary object's
    transformed box still shows the object's colour; a flip mirrors exactly the pixels and boxes of the same
    crop without flip (the crop and the flip are drawn from one per-image generator, crop first)."""
    from models.common.data import AugmentedImages
    from models.common.text_encoder import FrozenTextEncoder
    from t2ibench.data.training_pairs import CaptionedTrainSet

    ds = load_dataset("shapes", split="train", image_size=64, n_train=64, n_test=64, progress=False)
    pairs = CaptionedTrainSet(ds, FrozenTextEncoder("shapes").tokenizer, 0)
    flipping, plain = (AugmentedImages(pairs, 64, 76 / 64, flip=f, seed=0, with_boxes=True) for f in (True, False))
    hits = total = mirrored = 0
    for epoch in range(3):
        flipping.epoch = plain.epoch = epoch
        for i in range(len(ds)):
            x, boxes, labels = plain[i]
            xf, boxes_f, labels_f = flipping[i]
            assert x.shape == (3, 64, 64) and x.dtype == torch.uint8 and torch.equal(labels, labels_f)
            if not torch.equal(xf, x):
                assert torch.equal(xf, x.flip(-1))
                assert torch.allclose(boxes_f, torch.stack([1 - boxes[:, 2], boxes[:, 1], 1 - boxes[:, 0],
                                                            boxes[:, 3]], 1), atol=1e-6)
                mirrored += 1
            else:
                assert torch.equal(boxes_f, boxes)
            (x0, y0, x1, y1), obj = boxes[0].tolist(), ds.objects(i)[0]
            if min(x1 - x0, y1 - y0) * 64 < 6 or x0 <= 0 or y0 <= 0 or x1 >= 1 or y1 >= 1:
                continue                                                   # tiny, or cut by the crop
            cx, cy = int((x0 + x1) / 2 * 64), int((y0 + y1) / 2 * 64)
            total += 1
            hits += int((x[:, cy, cx].float() - torch.tensor(obj["rgb"], dtype=torch.float)).abs().max() < 40)
    assert total > 50 and hits / total > 0.9, (hits, total)
    assert 0.3 < mirrored / (3 * len(ds)) < 0.7                            # about half the images mirrored


def test_real_images_keep_their_aspect_ratio(shared_dir):
    """COCO images are resized by their shorter side (AttnGAN's ``Resize(int)``), never squashed."""
    from models.common.data import AugmentedImages
    from models.common.text_encoder import FrozenTextEncoder
    from t2ibench.data.training_pairs import CaptionedTrainSet

    ds = load_dataset("coco", split="train", root=shared_dir / "data" / "coco-mini", image_size=64)
    aug = AugmentedImages(CaptionedTrainSet(ds, FrozenTextEncoder("shapes").tokenizer, 0), 64, 76 / 64)
    for i in range(5):
        w, h = ds.source_image(i).size
        src = aug._source(i)
        assert min(src.shape[-2:]) == 76
        assert abs(src.shape[-1] / src.shape[-2] - w / h) < 0.02 * w / h + 1 / 76
        assert aug[i][0].shape == (3, 64, 64)


def test_coco_damsm_negatives_are_every_other_image(shared_dir):
    """AttnGAN on COCO: ``class_id = np.arange(N)`` — only the pair itself is masked among the DAMSM loss's
    in-batch negatives, although COCO images carry a category (their largest box's); on ``shapes`` captions of
    one class are interchangeable and stay masked together."""
    from models.common.text_encoder import FrozenTextEncoder
    from t2ibench.data.training_pairs import CaptionedTrainSet

    tokenizer = FrozenTextEncoder("shapes").tokenizer
    coco = load_dataset("coco", split="train", root=shared_dir / "data" / "coco-mini", image_size=64)
    idx = torch.arange(10)
    assert (coco.class_ids()[idx] >= 0).any()                              # the largest box's category exists
    assert CaptionedTrainSet(coco, tokenizer, 0).captions(idx, 0)[2].tolist() == idx.tolist()
    shapes = load_dataset("shapes", split="train", image_size=64, n_train=64, n_test=64, progress=False)
    assert CaptionedTrainSet(shapes, tokenizer, 0).captions(idx, 0)[2].tolist() == shapes.class_ids()[idx].tolist()


def test_a_model_can_bring_its_own_text_encoder(monkeypatch):
    """``config["text_encoder"]`` names a registered encoder (KT-GAN's guided encoder, CPGAN's memory-attended
    one); the shared DAMSM stays the default; per-caption extras travel with the encoded text."""
    from models.common import text_encoder as te

    class GuidedStandIn(te.FrozenTextEncoder):
        def encode_ids(self, ids, lengths):
            out = super().encode_ids(ids, lengths)
            out.extras["guided"] = out.sentence * 2
            return out

    monkeypatch.setitem(te.TEXT_ENCODERS._items, "guided-stand-in", GuidedStandIn)
    encoder = te.text_encoder_for({"text_encoder": "guided-stand-in"}, "shapes")
    text = encoder.encode(["a big red circle", "a tiny blue star"])
    assert torch.equal(text.extras["guided"], 2 * text.sentence)
    assert torch.equal(text.roll(1).extras["guided"], text.extras["guided"].roll(1, 0))   # extras move with rows
    assert type(te.text_encoder_for({}, "shapes")) is te.FrozenTextEncoder
    with pytest.raises(ValueError, match="unknown zoo text encoder 'nope'"):
        te.text_encoder_for({"text_encoder": "nope"}, "shapes")


def test_ablation_variants_are_zoo_models_with_their_overrides(monkeypatch):
    """A variant registered with its model is a model ``name/variant`` of its own: every config of the
    model with the variant's overrides (top-level keys replaced, ``train`` merged), a generator factory,
    its own weights path; unknown override keys are refused at registration."""
    from models.common import zoo
    from t2ibench.registry import GENERATORS

    monkeypatch.setattr(zoo, "MODELS", zoo.Registry("zoo model"))
    monkeypatch.setattr(GENERATORS, "_items", dict(GENERATORS._items))
    configs = {"tiny": {"dataset": "shapes", "width": 8, "switch": True, "train": {"epochs": 7, "batch_size": 4}},
               "paper": {"dataset": "cub", "width": 64, "switch": True, "train": {"epochs": 600, "batch_size": 20}}}
    variant = zoo.Variant("switch off, 2 epochs", "Toy Table 1", {"switch": False, "train": {"epochs": 2}})
    zoo.register_model("toy", lambda c: None, configs, "nobody", variants={"off": variant})
    assert zoo.list_models() == ["toy"] and zoo.list_models(variants=True) == ["toy", "toy/off"]
    assert zoo.list_variants("toy") == zoo.list_variants(table="Toy Table 1") == ["toy/off"]
    assert zoo.list_variants(table="Toy Table 2") == []
    entry = zoo.MODELS.get("toy/off")
    assert entry.parent == "toy" and entry.variant is variant
    assert entry.configs["tiny"] == {"dataset": "shapes", "width": 8, "switch": False,
                                     "train": {"epochs": 2, "batch_size": 4}}
    assert entry.configs["paper"]["width"] == 64 and entry.configs["paper"]["train"]["batch_size"] == 20
    assert configs["tiny"]["switch"] is True                               # the model's own configs untouched
    assert "toy/off" in GENERATORS and zoo.weights_path("toy/off", "shapes").parts[-2:] == ("toy", "off-shapes.safetensors")
    with pytest.raises(ValueError, match=r"toy2/bad: overrides of unknown config keys \['colour'\]"):
        zoo.register_model("toy2", lambda c: None, configs, "nobody",
                           variants={"bad": zoo.Variant("?", "Toy Table 1", {"colour": 1})})


def test_the_train_command_knows_the_variants(capsys):
    from models.train import main

    with pytest.raises(SystemExit):
        main(["hdgan/no-such-row"])
    err = capsys.readouterr().err
    assert "unknown zoo model(s) hdgan/no-such-row" in err and "hdgan/no-local" in err
