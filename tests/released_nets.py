"""Reference networks with the *released* module names and forward passes, written plainly for the
released-generator tests (tests/test_released_generators.py): AttnGAN's, DM-GAN's and CPGAN's ``G_NET``
(taoxugit/AttnGAN, MinfengZhu/DM-GAN, dongdongdong666/CPGAN ``code/model.py``) and StackGAN-v2's
(hanzhanggit/StackGAN-v2). Independent of the zoo: only ``torch.nn`` layers and functional ops; the word
attention masks each caption's own padding (AttnGAN Eq. 2), caption by caption.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class GLU(nn.Module):
    def forward(self, x):
        n = x.shape[1] // 2
        return x[:, :n] * torch.sigmoid(x[:, n:])


def conv3x3(cin, cout):
    return nn.Conv2d(cin, cout, 3, 1, 1, bias=False)


def upBlock(cin, cout):
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), conv3x3(cin, 2 * cout),
                         nn.BatchNorm2d(2 * cout), GLU())


class ResBlock(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.block = nn.Sequential(conv3x3(c, 2 * c), nn.BatchNorm2d(2 * c), GLU(), conv3x3(c, c), nn.BatchNorm2d(c))

    def forward(self, x):
        return x + self.block(x)


class CA_NET(nn.Module):
    def __init__(self, t_dim, c_dim):
        super().__init__()
        self.c_dim = c_dim
        self.fc = nn.Linear(t_dim, 4 * c_dim)


class INIT_STAGE_G(nn.Module):
    def __init__(self, gf, nz):
        super().__init__()
        self.gf = gf
        self.fc = nn.Sequential(nn.Linear(nz, gf * 4 * 4 * 2, bias=False), nn.BatchNorm1d(gf * 4 * 4 * 2), GLU())
        self.upsample1, self.upsample2 = upBlock(gf, gf // 2), upBlock(gf // 2, gf // 4)
        self.upsample3, self.upsample4 = upBlock(gf // 4, gf // 8), upBlock(gf // 8, gf // 16)

    def forward(self, z, c):
        h = self.fc(torch.cat((c, z), 1)).view(-1, self.gf, 4, 4)
        return self.upsample4(self.upsample3(self.upsample2(self.upsample1(h))))


class ATT_NET(nn.Module):
    def __init__(self, idf, cdf):
        super().__init__()
        self.conv_context = nn.Conv2d(cdf, idf, 1, 1, 0, bias=False)


class NEXT_STAGE_G(nn.Module):
    """AttnGAN's (``att``), or DM-GAN's with ``memory=True`` (``A``, ``B``, ``M_r``, ``M_w``, ``key``,
    ``value``, ``response_gate``)."""

    def __init__(self, ngf, nef, r_num, memory=False):
        super().__init__()
        if memory:
            self.A, self.B = nn.Linear(nef, 1, bias=False), nn.Linear(ngf, 1, bias=False)
            self.M_r = nn.Sequential(nn.Conv1d(ngf, 2 * ngf, 1), nn.ReLU())
            self.M_w = nn.Sequential(nn.Conv1d(nef, 2 * ngf, 1), nn.ReLU())
            self.key = nn.Sequential(nn.Conv1d(2 * ngf, ngf, 1), nn.ReLU())
            self.value = nn.Sequential(nn.Conv1d(2 * ngf, ngf, 1), nn.ReLU())
            self.response_gate = nn.Sequential(nn.Conv2d(2 * ngf, 1, 1), nn.Sigmoid())
        else:
            self.att = ATT_NET(ngf, nef)
        self.residual = nn.Sequential(*[ResBlock(2 * ngf) for _ in range(r_num)])
        self.upsample = upBlock(2 * ngf, ngf)


class GET_IMAGE_G(nn.Module):
    def __init__(self, ngf):
        super().__init__()
        self.img = nn.Sequential(conv3x3(ngf, 3), nn.Tanh())


class G_NET(nn.Module):
    """``kind``: "attngan", "dmgan" or "cpgan" (AttnGAN's plus ``upsample`` and ``conv``)."""

    def __init__(self, kind="attngan", ngf=2, nef=8, ncf=3, nz=5, r_num=2, branches=3):
        super().__init__()
        self.kind = kind
        if kind == "cpgan":
            self.upsample, self.conv = upBlock(ngf, ngf), conv3x3(ngf, ngf)
        self.ca_net = CA_NET(nef, ncf)
        self.h_net1, self.img_net1 = INIT_STAGE_G(ngf * 16, nz + ncf), GET_IMAGE_G(ngf)
        for k in range(2, branches + 1):
            setattr(self, f"h_net{k}", NEXT_STAGE_G(ngf, nef, r_num, memory=kind == "dmgan"))
            setattr(self, f"img_net{k}", GET_IMAGE_G(ngf))
        self.branches = branches


def ca(net, sent, eps):
    x = net.fc(sent)
    x = x[:, : x.shape[1] // 2] * torch.sigmoid(x[:, x.shape[1] // 2:])
    mu, logvar = x[:, : net.c_dim], x[:, net.c_dim:]
    return mu + eps * torch.exp(0.5 * logvar)


def attention(stage, h, words, mask):
    """Word context per sub-region, caption by caption (softmax over the caption's own words)."""
    source = F.conv2d(words.unsqueeze(3), stage.att.conv_context.weight).squeeze(3)   # [N, C, T]
    out = []
    for b in range(h.shape[0]):
        query = h[b].flatten(1)                                     # [C, HW]
        keep = ~mask[b]
        beta = torch.softmax(query.t() @ source[b][:, keep], dim=1)  # [HW, T_b]
        out.append((source[b][:, keep] @ beta.t()).view_as(h[b]))
    return torch.stack(out)


def memory(stage, h, words, mask):
    """DM-GAN's dynamic memory (Eq. 3-8 as its code computes them), caption by caption."""
    out = []
    for b in range(h.shape[0]):
        w = words[b][:, ~mask[b]]                                    # [D, T_b]
        r = h[b].flatten(1)                                          # [C, HW]
        r_avg = r.mean(1)                                            # [C]
        gate = torch.sigmoid(stage.A.weight @ w + stage.B.weight @ r_avg[:, None])   # [1, T_b]
        m_w = torch.relu(F.conv1d(w[None], stage.M_w[0].weight, stage.M_w[0].bias))[0]
        m_r = torch.relu(F.conv1d(r_avg[None, :, None], stage.M_r[0].weight, stage.M_r[0].bias))[0]
        mem = m_w * gate + m_r * (1 - gate)
        key = torch.relu(F.conv1d(mem[None], stage.key[0].weight, stage.key[0].bias))[0]
        value = torch.relu(F.conv1d(mem[None], stage.value[0].weight, stage.value[0].bias))[0]
        alpha = torch.softmax(r.t() @ key, dim=1)                    # [HW, T_b]
        o = (value @ alpha.t()).view_as(h[b])
        g = torch.sigmoid(F.conv2d(torch.cat([h[b], o])[None], stage.response_gate[0].weight,
                                   stage.response_gate[0].bias))[0]
        out.append(h[b] * (1 - g) + g * o)
    return torch.stack(out)


@torch.no_grad()
def g_net_forward(g: G_NET, z, eps, sent, words, mask):
    """The released ``G_NET.forward`` (eval mode) with the CA epsilon given: images per stage."""
    c = ca(g.ca_net, sent, eps)
    h = g.h_net1(z, c)
    images, carry = [g.img_net1.img(h)], h
    for k in range(2, g.branches + 1):
        stage = getattr(g, f"h_net{k}")
        if g.kind == "dmgan":
            new = memory(stage, h, words, mask)
            joined = torch.cat((new, new), 1)
        else:
            joined = torch.cat((h, attention(stage, h, words, mask)), 1)
        out = stage.upsample(stage.residual(joined))
        if g.kind == "cpgan":
            carry = g.upsample(carry)
            out = g.conv(out + carry)
        h = out
        images.append(getattr(g, f"img_net{k}").img(h))
    return images


class NEXT_STAGE_G_V2(nn.Module):
    """StackGAN-v2's ``NEXT_STAGE_G``: ``jointConv`` over ``cat(c, h)``, residual blocks, ``upsample``."""

    def __init__(self, ngf, efg, r_num):
        super().__init__()
        self.jointConv = nn.Sequential(conv3x3(ngf + efg, 2 * ngf), nn.BatchNorm2d(2 * ngf), GLU())
        self.residual = nn.Sequential(*[ResBlock(ngf) for _ in range(r_num)])
        self.upsample = upBlock(ngf, ngf // 2)


class G_NET_V2(nn.Module):
    """StackGAN-v2's ``G_NET`` (``B_CONDITION``): widths ngf, ngf/2, ngf/4 at 64, 128, 256 px."""

    def __init__(self, ngf=8, t_dim=12, ef=3, nz=5, r_num=2, branches=3):
        super().__init__()
        self.ca_net = CA_NET(t_dim, ef)
        self.h_net1, self.img_net1 = INIT_STAGE_G(ngf * 16, nz + ef), GET_IMAGE_G(ngf)
        for k in range(2, branches + 1):
            width = ngf // 2 ** (k - 2)
            setattr(self, f"h_net{k}", NEXT_STAGE_G_V2(width, ef, r_num))
            setattr(self, f"img_net{k}", GET_IMAGE_G(width // 2))
        self.branches = branches


@torch.no_grad()
def g_net_v2_forward(g: G_NET_V2, z, eps, sent):
    c = ca(g.ca_net, sent, eps)
    h = g.h_net1(z, c)
    images = [g.img_net1.img(h)]
    for k in range(2, g.branches + 1):
        stage = getattr(g, f"h_net{k}")
        c_map = c[:, :, None, None].repeat(1, 1, h.shape[2], h.shape[3])
        h = stage.upsample(stage.residual(stage.jointConv(torch.cat((c_map, h), 1))))
        images.append(getattr(g, f"img_net{k}").img(h))
    return images


def randomise(module: nn.Module, seed: int = 0, scale: float = 0.3) -> nn.Module:
    """Random weights (``scale``·N(0, 1)) and BatchNorm statistics (means N(0, 0.1²), variances in
    [0.5, 1.5]) so that every tensor of the file matters; eval mode."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if name.endswith("running_var"):
                t.copy_(0.5 + torch.rand(t.shape, generator=g))
            elif name.endswith("running_mean"):
                t.copy_(0.1 * torch.randn(t.shape, generator=g))
            elif name.endswith("num_batches_tracked"):
                t.fill_(7)
            else:
                t.copy_(scale * torch.randn(t.shape, generator=g))
    return module.eval()
