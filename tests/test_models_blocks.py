"""models/common blocks checked against float64 numpy loops: word attention, dynamic memory,
colour consistency, the AttnGAN/HDGAN/StackGAN++ losses on constructed logits, checkpoint packing."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from models.common.attention import WordAttention
from models.common.attngan_losses import discriminator_loss as attngan_d_loss
from models.common.checkpoint import (load_training_state, pack_state, save_training_state,
                                      unpack_state)
from models.common.discriminators import StageDiscriminator
from models.common.memory import DynamicMemory
from models.stackgan_pp.model import colour_consistency, colour_statistics


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_word_attention_matches_a_per_region_loop():
    torch.manual_seed(0)
    att = WordAttention(image_dim=5, word_dim=7).double()
    h, words = torch.randn(2, 5, 3, 4, dtype=torch.float64), torch.randn(2, 7, 6, dtype=torch.float64)
    lengths = [6, 3]
    mask = torch.arange(6)[None, :] >= torch.tensor(lengths)[:, None]
    context, beta = att(h, words, mask)
    U = att.project.weight[:, :, 0].detach().numpy()
    for n in range(2):
        e = U @ words[n].numpy()[:, :lengths[n]]                  # e' = U e   [C, T_n]
        hn = h[n].numpy().reshape(5, -1)                           # [C, HW]
        b = softmax(hn.T @ e, axis=1)                              # β_{j,i} over the caption's words
        expected = (e @ b.T).reshape(5, 3, 4)                      # c_j = Σ_i β_{j,i} e'_i
        np.testing.assert_allclose(context[n].detach().numpy(), expected, rtol=1e-10)
        np.testing.assert_allclose(beta[n, :lengths[n]].detach().numpy().reshape(lengths[n], -1), b.T, rtol=1e-10)
        assert float(beta[n, lengths[n]:].detach().abs().sum()) == 0.0      # padding gets no attention


def test_dynamic_memory_matches_dm_gan_equations():
    torch.manual_seed(1)
    mem = DynamicMemory(image_dim=4, word_dim=6, memory_dim=5).double()
    r, words = torch.randn(1, 4, 2, 3, dtype=torch.float64), torch.randn(1, 6, 5, dtype=torch.float64)
    mask = torch.tensor([[False, False, False, True, True]])
    out = mem(r, words, mask)[0].detach().numpy()
    P = {k: v.detach().numpy() for k, v in mem.state_dict().items()}
    R = r[0].numpy().reshape(4, -1)                                 # [C, N]
    W = words[0].numpy()[:, :3]                                     # real words [D, T]
    r_mean = R.mean(1)
    relu = (lambda x: np.maximum(x, 0))
    g_w = sigmoid(P["gate_word.weight"] @ W + P["gate_image.weight"] @ r_mean)       # Eq. 3, no biases  [1, T]
    m = (relu(P["write_word.0.weight"][:, :, 0] @ W + P["write_word.0.bias"][:, None]) * g_w
         + relu(P["write_image.0.weight"][:, :, 0] @ r_mean + P["write_image.0.bias"])[:, None] * (1 - g_w))  # Eq. 4
    keys = relu(P["key.0.weight"][:, :, 0] @ m + P["key.0.bias"][:, None])          # φ_K(m_i)  [C, T]
    alpha = softmax(keys.T @ R, axis=0)                                              # Eq. 5: over words
    o = relu(P["value.0.weight"][:, :, 0] @ m + P["value.0.bias"][:, None]) @ alpha  # Eq. 6  [C, N]
    g_r = sigmoid(P["response.weight"][0, :, 0, 0] @ np.concatenate([R, o]) + P["response.bias"][0])  # Eq. 7
    expected = o * g_r + R * (1 - g_r)                                               # Eq. 8
    np.testing.assert_allclose(out.reshape(4, -1), expected, rtol=1e-10)
    # the pooled image feature is detached (the code's ``self.avg(h_code).detach()``): with the pooled
    # feature given as a constant, the gradient reaching r is the same
    r2 = r.clone().requires_grad_(True)
    mem(r2, words, mask).sum().backward()
    pooled = r.mean(dim=(2, 3))
    original = torch.Tensor.mean
    torch.Tensor.mean = lambda self, *a, **k: pooled if self is r3 else original(self, *a, **k)
    try:
        r3 = r.clone().requires_grad_(True)
        mem(r3, words, mask).sum().backward()
    finally:
        torch.Tensor.mean = original
    assert torch.allclose(r2.grad, r3.grad)


def test_colour_consistency_on_constructed_images():
    low = torch.zeros(1, 3, 2, 2)
    low[0, 0] = torch.tensor([[0.0, 1.0], [0.0, 1.0]])      # red channel: mean 0.5, variance 0.25
    high = torch.zeros(1, 3, 4, 4)                           # all zero: mean 0, covariance 0
    mu, cov = colour_statistics(low)
    assert mu.tolist() == [[0.5, 0.0, 0.0]] and float(cov[0, 0, 0]) == 0.25 and float(cov.abs().sum()) == 0.25
    # λ1 · mean((μ1 − μ2)²) + λ2 · mean((Σ1 − Σ2)²) = 1 · 0.25/3 + 5 · 0.0625/9
    assert float(colour_consistency(low, high)) == pytest.approx(0.25 / 3 + 5 * 0.0625 / 9, rel=1e-6)
    assert float(colour_consistency(high[:, :, :2, :2], high)) == 0.0


class _ConstantD(torch.nn.Module):
    """A stand-in exposing StageDiscriminator's interface with constructed logits."""

    def __init__(self, real_u, fake_u, cond):
        super().__init__()
        self.uncond_head, self.real_u, self.fake_u, self.cond = True, real_u, fake_u, cond

    def features(self, x):
        return x

    def uncond_logits(self, h):
        return torch.full((1,), self.real_u if float(h) > 0 else self.fake_u)

    def cond_logits(self, h, c):
        return torch.full((1,), self.cond[(float(h) > 0, float(c))])


def sp(x):
    return math.log1p(math.exp(x))   # softplus: BCE(logit x, 0) = sp(x), BCE(logit x, 1) = sp(-x)


def test_attngan_discriminator_loss_on_constructed_logits():
    real, fake = torch.ones(1), -torch.ones(1)        # the features tell real from fake
    s, s_wrong = torch.ones(1), torch.full((1,), 2.0)
    cond = {(True, 1.0): 1.5, (False, 1.0): -0.5, (True, 2.0): 0.3}
    d = _ConstantD(real_u=2.0, fake_u=-1.0, cond=cond)
    expected = (sp(-2.0) + sp(-1.5)) / 2 + (sp(-1.0) + sp(-0.5) + sp(0.3)) / 3   # AttnGAN's discriminator_loss
    assert float(attngan_d_loss(d, real, fake, s, s_wrong)) == pytest.approx(expected, rel=1e-6)
    d.uncond_head = None
    assert float(attngan_d_loss(d, real, fake, s, s_wrong)) == pytest.approx(sp(-1.5) + (sp(-0.5) + sp(0.3)) / 2,
                                                                              rel=1e-6)


def test_stage_discriminator_shapes_and_spectral_norm():
    d = StageDiscriminator(32, ndf=4, cond_dim=6, spectral_norm=True)
    cond, uncond = d(torch.randn(3, 3, 32, 32), torch.randn(3, 6))
    assert cond.shape == uncond.shape == (3,)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in d.modules())
    assert any("parametrizations" in n for n, _ in d.named_parameters())
    with pytest.raises(ValueError, match="power of two"):
        StageDiscriminator(48, 4, 6)


def test_training_state_round_trip_without_pickle(tmp_path):
    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(4, 3)).sum().backward()
    opt.step()
    state = {"opt": opt.state_dict(), "history": [{"epoch": 1, "loss": 0.5}], "ema": None, "seed": 3,
             "config": {"betas": [0.5, 0.999]}}
    tensors, skeleton = pack_state(state)
    assert all(isinstance(v, torch.Tensor) for v in tensors.values())
    back = unpack_state(skeleton, tensors)
    assert back["opt"]["state"][0]["exp_avg"].equal(opt.state_dict()["state"][0]["exp_avg"])  # int keys survive
    path = tmp_path / "ck.safetensors"
    save_training_state(path, state)
    loaded = load_training_state(path)
    assert loaded["history"] == state["history"] and loaded["ema"] is None and loaded["seed"] == 3
    opt2 = torch.optim.Adam(torch.nn.Linear(3, 2).parameters())
    opt2.load_state_dict(loaded["opt"])
    assert opt2.state_dict()["param_groups"] == opt.state_dict()["param_groups"]
    with pytest.raises(TypeError, match="cannot store a set"):
        pack_state({"x": {1, 2}})


@pytest.mark.parametrize("damage", ["truncate", "garbage", "not-a-checkpoint"])
def test_corrupt_training_checkpoint_is_a_clear_error(tmp_path, damage):
    from safetensors.torch import save_file

    path = tmp_path / "ck.safetensors"
    save_training_state(path, {"w": torch.ones(100)})
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:-50])
    elif damage == "garbage":
        path.write_bytes(b"\x00garbage" * 10)
    else:
        save_file({"w": torch.ones(2)}, str(path))
    with pytest.raises(ValueError, match="unreadable or corrupt"):
        load_training_state(path)
