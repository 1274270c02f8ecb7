"""Does a trained zoo model follow its captions? Two checks on ``shapes`` test captions.

- :func:`conditioning_accuracy`: the share of generated images that the ``shapes`` domain
  classifier (the evaluator of :mod:`t2ibench.evaluators.shapes_classifier`, 48 classes =
  colour × shape of the caption's primary object) puts in the class of the image the
  caption was written for; chance is 1/48 ≈ 0.021.
- FID against the test split with the classifier's features (the ``shapes`` leaderboard's
  FID), beside the same FID of the ``noise`` row; and R-precision (the evaluation DAMSM, DM-GAN's
  protocol) beside the ``real-mismatched`` row, the floor for text alignment.
"""
from __future__ import annotations

import torch


def conditioning_accuracy(generator, dataset, n_images: int = 1000, seed: int = 0) -> float:
    """Top-1 accuracy of the shapes classifier on ``generator``'s images for ``n_images`` test captions."""
    from t2ibench.engine import evaluation_plan
    from t2ibench.evaluators.shapes_classifier import accuracy, load_classifier

    plan = evaluation_plan(dataset, n_images, seed)
    images = torch.cat([generator.generate(plan[i:i + 200], seed=seed + i) for i in range(0, len(plan), 200)])
    labels = torch.tensor([dataset.class_id(c.image_index) for c in plan])
    return accuracy(load_classifier()[0], images, labels)


def accuracy_probe(dataset, text_encoder, noise_dim: int, n_images: int = 256, seed: int = 0):
    """``probe(generator_module) -> {"class_accuracy": float}`` for the trainer: the shapes classifier's
    accuracy on the images of ``n_images`` held-out test captions (the *last* ones of a fixed plan, so
    they differ from the first 1000 that the shipped manifest's check scores), each with the noise of
    its per-caption seed; the module is put in eval mode and back."""
    from t2ibench.engine import evaluation_plan
    from t2ibench.evaluators.shapes_classifier import accuracy, load_classifier
    from t2ibench.generators.base import per_caption_noise

    from models.common.gan import to_uint8

    plan = evaluation_plan(dataset, len(dataset), seed)[-n_images:]
    labels = torch.tensor([dataset.class_id(c.image_index) for c in plan])
    text = text_encoder.encode_each(plan)
    noise = per_caption_noise(seed + 10_000, len(plan), (noise_dim,))
    classifier = load_classifier()[0]

    @torch.no_grad()
    def probe(module) -> dict:
        was_training = module.training
        module.eval()
        device = next(module.parameters()).device
        images = torch.cat([to_uint8(module(text.map(lambda t: t[i:i + 128].to(device)),
                                            noise[i:i + 128].to(device)).images[-1]).cpu()
                            for i in range(0, len(plan), 128)])
        module.train(was_training)
        return {"class_accuracy": round(accuracy(classifier, images, labels), 4)}

    return probe


def quality_report(generator, dataset, n_images: int = 1000, seed: int = 0, progress: bool = False) -> dict:
    """``{"class_accuracy", "chance", "fid", "fid_noise", "r_precision", "r_precision_mismatched", "n_images",
    "seed"}`` on ``dataset`` (shapes test split): the generator's numbers beside those of the ``noise`` (FID)
    and ``real-mismatched`` (R-precision) reference rows on the same captions."""
    from t2ibench.engine import evaluate

    run = dict(dataset=dataset, n_images=n_images, seed=seed, progress=progress)
    result = evaluate(generator, metrics=["fid", "r-precision"], generator_name="zoo-check", **run)
    fid_noise = evaluate("noise", metrics=["fid"], **run).value("fid")
    mismatched = evaluate("real-mismatched", metrics=["r-precision"], **run).value("r-precision")
    return {"class_accuracy": round(conditioning_accuracy(generator, dataset, n_images, seed), 4),
            "chance": round(1 / dataset.num_classes, 4), "fid": round(result.value("fid"), 3),
            "fid_noise": round(fid_noise, 3), "r_precision": round(result.value("r-precision"), 4),
            "r_precision_mismatched": round(mismatched, 4), "n_images": n_images, "seed": seed}
