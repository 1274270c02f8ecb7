"""models/common: conditioning augmentation + KL, GAN losses (matching-aware), EMA — hand-checked cases."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from models.common import EMA, ConditioningAugmentation, discriminator_loss, generator_loss, kl_loss


def softplus(x):
    return math.log1p(math.exp(x))


def test_kl_matches_the_closed_form():
    rng = np.random.default_rng(0)
    mu, logvar = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    # KL(N(mu, s^2) || N(0, 1)) per element = 0.5 * (s^2 + mu^2 - 1 - log s^2); StackGAN's code averages it
    expected = np.mean(0.5 * (np.exp(logvar) + mu ** 2 - 1 - logvar))
    got = kl_loss(torch.tensor(mu), torch.tensor(logvar))
    assert float(got) == pytest.approx(expected, rel=1e-12)
    assert float(kl_loss(torch.zeros(2, 5), torch.zeros(2, 5))) == 0.0


def test_conditioning_augmentation_samples_mu_plus_sigma_eps():
    torch.manual_seed(0)
    ca = ConditioningAugmentation(text_dim=8, c_dim=4)
    text = torch.randn(3, 8)
    noise = torch.randn(3, 4)
    code, mu, logvar = ca(text, noise=noise)
    assert code.shape == mu.shape == logvar.shape == (3, 4)
    assert torch.allclose(code, mu + noise * torch.exp(0.5 * logvar))
    h = ca.fc(text)  # GLU: first half * sigmoid(second half)
    glu = h[:, :8] * torch.sigmoid(h[:, 8:])
    assert torch.allclose(mu, glu[:, :4]) and torch.allclose(logvar, glu[:, 4:])
    assert torch.equal(ca(text, sample=False)[0], mu)
    with pytest.raises(ValueError, match="noise: expected shape"):
        ca(text, noise=torch.zeros(3, 5))


@pytest.mark.parametrize("kind, expected", [
    ("bce", softplus(-2.0) + (softplus(-1.0) + softplus(0.5)) / 2),   # -log s_r + (-log(1-s_f) - log(1-s_w)) / 2
    ("hinge", max(0, 1 - 2.0) + (max(0, 1 - 1.0) + max(0, 1 + 0.5)) / 2),
    ("ls", (2.0 - 1) ** 2 + ((-1.0) ** 2 + 0.5 ** 2) / 2),
])
def test_matching_aware_discriminator_loss_on_constructed_scores(kind, expected):
    real, fake, wrong = torch.tensor([2.0]), torch.tensor([-1.0]), torch.tensor([0.5])
    assert float(discriminator_loss(kind, real, fake, wrong)) == pytest.approx(expected, rel=1e-6)


def test_without_wrong_pairs_and_generator_losses():
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-1.0, 1.0])
    assert float(discriminator_loss("bce", real, fake)) == pytest.approx(
        (softplus(-2) + softplus(0)) / 2 + (softplus(-1) + softplus(1)) / 2, rel=1e-6)
    assert float(generator_loss("bce", torch.zeros(4))) == pytest.approx(math.log(2), rel=1e-6)
    assert float(generator_loss("hinge", fake)) == pytest.approx(0.0)
    assert float(generator_loss("ls", fake)) == pytest.approx(((-2) ** 2 + 0) / 2)
    with pytest.raises(ValueError, match="unknown GAN loss 'wgan'"):
        generator_loss("wgan", fake)


def test_ema_averages_parameters_and_copies_buffers():
    net = torch.nn.BatchNorm1d(2)
    with torch.no_grad():
        net.weight.fill_(0.0)
    ema = EMA(net, decay=0.75)
    with torch.no_grad():
        net.weight.fill_(1.0)
        net.running_mean.fill_(3.0)
    ema.update(net)
    assert torch.allclose(ema.shadow.weight, torch.full((2,), 0.25))
    assert torch.equal(ema.shadow.running_mean, torch.full((2,), 3.0))
    assert not any(p.requires_grad for p in ema.shadow.parameters())
    with pytest.raises(ValueError, match="decay"):
        EMA(net, decay=1.0)
