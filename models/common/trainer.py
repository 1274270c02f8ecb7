"""One trainer for every GAN of the zoo: config in, safetensors checkpoints out.

:func:`train_gan` runs the alternating updates every model here shares (AttnGAN's
``trainer.py``, StackGAN's, HDGAN's): per batch, the generator makes images from
``(text, noise)``; each discriminator takes one Adam step on
``model.discriminator_loss(batch, detached output)``; then the generator takes one step on
``model.generator_loss(batch, out)`` and its EMA copy is updated.

What it writes to ``out_dir``:

- ``checkpoint.safetensors`` after every epoch: generator, discriminators, EMA, both
  optimizers, AMP scalers, epoch and history (:mod:`models.common.checkpoint`; no pickle).
  Re-running the same command resumes after the last finished epoch with the same
  optimizer state; data order and noise depend only on ``(seed, epoch)``, so a resumed run
  retraces an uninterrupted one (on the same machine and thread count);
- ``samples/epoch_NNN.png``: a captioned grid of the EMA generator on fixed test captions
  and fixed noise;
- ``losses.csv`` (one row per epoch: the mean of every loss term, seconds) and ``losses.png``.

Settings (``config["train"]``): ``epochs``, ``batch_size``, ``lr_g``, ``lr_d``, ``betas``
(Adam; 0.5, 0.999 in every paper here), ``ema`` (decay, or ``None`` for the raw weights).
AMP (float16 autocast + GradScaler) is used on CUDA unless ``amp=False``. Multi-GPU:
launched with ``torchrun --nproc_per_node K``, each process trains on its share of every
epoch (``order[rank::K]``) and gradients are averaged with ``all_reduce`` before each
step (the data-parallel scheme of DDP, applied by hand because D runs several forwards
per backward; StyleGAN2-ADA syncs its gradients the same way). BatchNorm statistics stay
per process. Rank 0 writes all files.
"""
from __future__ import annotations

import csv
import io
import os
import time
from pathlib import Path

import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from models.common.checkpoint import load_training_state, save_training_state
from models.common.ema import EMA
from models.common.gan import TextToImageGAN, to_uint8
from t2ibench.evaluators.training import epoch_order

CHECKPOINT = "checkpoint.safetensors"
SAMPLE_GRID = 8


def _distributed() -> tuple[int, int]:
    """``(rank, world_size)``; initialises the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), world) if world > 1 else (0, 1)


def _average_gradients(params, world: int) -> None:
    if world > 1:
        for p in params:
            if p.grad is not None:
                dist.all_reduce(p.grad)
                p.grad /= world


def noise_generator(seed: int, epoch: int, rank: int = 0) -> torch.Generator:
    """The generator of the training noise in ``epoch`` (depends only on seed, epoch and rank)."""
    return torch.Generator().manual_seed(int(seed) * 1_000_033 + 104_729 * int(epoch) + int(rank))


def write_loss_curves(history: list[dict], out_dir: Path) -> None:
    """``losses.csv`` (one row per epoch) and ``losses.png`` (every loss term against the epoch)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from t2ibench.io import write_text
    from t2ibench.plots import save_figure

    keys = list(dict.fromkeys(k for h in history for k in h))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=keys)
    writer.writeheader()
    writer.writerows(history)
    write_text(out_dir / "losses.csv", buf.getvalue())
    terms = [k for k in keys if k not in ("epoch", "seconds")]
    fig, ax = plt.subplots(figsize=(7, 4))
    for k in terms:
        ax.plot([h["epoch"] for h in history], [h.get(k) for h in history], marker="o", ms=3, label=k)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (epoch mean)")
    ax.legend(fontsize=7, ncol=2)
    save_figure(fig, out_dir / "losses.png")


class GANTrainer:
    """Holds the model, optimizers, EMA and scalers of one run; :meth:`fit` trains it."""

    def __init__(self, model: TextToImageGAN, data, out_dir, device="cpu", seed: int = 0, progress: bool = True,
                 sample_text=None, amp: bool = True):
        self.rank, self.world = _distributed()
        if self.world > 1 and torch.cuda.is_available():
            device = f"cuda:{int(os.environ.get('LOCAL_RANK', 0))}"
        self.device = torch.device(device)
        self.model, self.data, self.seed = model.to(self.device), data, int(seed)
        if getattr(model, "text_encoder", None) is not None:  # shared with ``data``: each rank encodes on its GPU
            model.text_encoder.to(self.device)
        self.out_dir, self.progress = Path(out_dir), progress and self.rank == 0
        self.train_cfg = model.config["train"]
        betas = tuple(self.train_cfg.get("betas", (0.5, 0.999)))
        self.opt_g = torch.optim.Adam(model.generator.parameters(), lr=self.train_cfg["lr_g"], betas=betas)
        self.opt_d = torch.optim.Adam(model.discriminators.parameters(), lr=self.train_cfg["lr_d"], betas=betas)
        decay = self.train_cfg.get("ema")
        self.ema = EMA(model.generator, decay) if decay else None
        self.amp = bool(amp) and self.device.type == "cuda"
        self.scaler_g = torch.amp.GradScaler("cuda", enabled=self.amp)
        self.scaler_d = torch.amp.GradScaler("cuda", enabled=self.amp)
        if sample_text is not None:  # (captions, EncodedText) for the per-epoch grids
            captions, text = sample_text
            sample_text = (captions, text.map(lambda t: t.to(self.device)))
        self.sample_text = sample_text
        self.epoch, self.history = 0, []

    # ------------------------------------------------------------------ state
    def state(self) -> dict:
        return {"generator": self.model.generator.state_dict(), "discriminators": self.model.discriminators.state_dict(),
                "ema": self.ema.state_dict() if self.ema else None, "opt_g": self.opt_g.state_dict(),
                "opt_d": self.opt_d.state_dict(), "scaler_g": self.scaler_g.state_dict(),
                "scaler_d": self.scaler_d.state_dict(), "epoch": self.epoch, "history": self.history,
                "config": self.model.config, "seed": self.seed}

    def load(self, path) -> None:
        s = load_training_state(path)
        if s.get("config") != self.model.config or s.get("seed") != self.seed:
            raise ValueError(f"training checkpoint {path} was written with another configuration or seed; "
                             f"delete it or train with the same settings")
        try:
            self.model.generator.load_state_dict(s["generator"])
            self.model.discriminators.load_state_dict(s["discriminators"])
            if self.ema:
                self.ema.load_state_dict(s["ema"])
            self.opt_g.load_state_dict(s["opt_g"])
            self.opt_d.load_state_dict(s["opt_d"])
        except (RuntimeError, KeyError, ValueError, TypeError) as e:
            raise ValueError(f"training checkpoint {path} does not fit this model ({e}); delete it to train "
                             f"from scratch") from e
        if s.get("scaler_g"):
            self.scaler_g.load_state_dict(s["scaler_g"])
            self.scaler_d.load_state_dict(s["scaler_d"])
        self.epoch, self.history = int(s["epoch"]), list(s["history"])

    def sampling_generator(self) -> torch.nn.Module:
        return self.ema.shadow if self.ema else self.model.generator

    # ------------------------------------------------------------------ one step
    def step(self, batch, noise: torch.Tensor) -> dict:
        """One D update then one G update; returns the detached loss terms."""
        model, cuda_autocast = self.model, torch.autocast("cuda", enabled=self.amp)
        with cuda_autocast:
            out = model.generator(batch.text, noise)
            out.noise = noise
            d = model.discriminator_loss(batch, out.detached())
        self.opt_d.zero_grad(set_to_none=True)
        self.scaler_d.scale(d["loss"]).backward()
        _average_gradients(model.discriminator_parameters(), self.world)
        self.scaler_d.step(self.opt_d)
        self.scaler_d.update()
        with cuda_autocast:
            g = model.generator_loss(batch, out)
        self.opt_g.zero_grad(set_to_none=True)
        self.scaler_g.scale(g["loss"]).backward()
        _average_gradients(model.generator_parameters(), self.world)
        self.scaler_g.step(self.opt_g)
        self.scaler_g.update()
        if self.ema:
            self.ema.update(model.generator)
        terms = {f"d_{k}" if k != "loss" else "d_loss": v for k, v in d.items()}
        terms.update({f"g_{k}" if k != "loss" else "g_loss": v for k, v in g.items()})
        return {k: float(v.detach() if torch.is_tensor(v) else v) for k, v in terms.items()}

    # ------------------------------------------------------------------ loop
    def fit(self, epochs: int | None = None, max_steps: int | None = None) -> list[dict]:
        """Train until ``epochs`` (default ``config["train"]["epochs"]``); ``max_steps`` caps the
        steps of each epoch (smoke tests). Resumes from ``out_dir/checkpoint.safetensors``."""
        epochs = self.train_cfg["epochs"] if epochs is None else epochs
        ckpt = self.out_dir / CHECKPOINT
        if ckpt.exists():
            self.load(ckpt)
        if self.world > 1:
            dist.barrier()  # every rank has read the checkpoint before rank 0 may overwrite it
        bs = self.train_cfg["batch_size"]
        n = len(self.data)
        if n < bs * self.world:
            raise ValueError(f"training set of {n} images is smaller than one batch of {bs} x {self.world} "
                             f"process(es)")
        noise_dim = self.model.noise_dim
        while self.epoch < epochs:
            self.model.start_epoch(self.epoch)
            self.model.train()
            order = epoch_order(n, self.seed, self.epoch)[self.rank::self.world]
            steps = len(order) // bs if max_steps is None else min(max_steps, len(order) // bs)
            g = noise_generator(self.seed, self.epoch, self.rank)
            t0, sums = time.time(), {}
            bar = tqdm(range(steps), desc=f"epoch {self.epoch + 1}/{epochs}", disable=not self.progress,
                       leave=False)
            for s in bar:
                batch = self.data.batch(order[s * bs:(s + 1) * bs], self.epoch, self.device)
                noise = torch.randn(bs, noise_dim, generator=g).to(self.device)
                terms = self.step(batch, noise)
                for k, v in terms.items():
                    sums[k] = sums.get(k, 0.0) + v
                bar.set_postfix(d=f"{terms['d_loss']:.3f}", g=f"{terms['g_loss']:.3f}")
            self.epoch += 1
            self.history.append({"epoch": self.epoch, **{k: round(v / max(steps, 1), 5) for k, v in sums.items()},
                                 "seconds": round(time.time() - t0, 1)})
            if self.rank == 0:
                save_training_state(ckpt, self.state())
                write_loss_curves(self.history, self.out_dir)
                self.save_samples()
        self.model.eval()
        return self.history

    @torch.no_grad()
    def save_samples(self) -> None:
        if self.sample_text is None:
            return
        from t2ibench.generators.base import per_caption_noise
        from t2ibench.plots import save_captioned_grid

        captions, text = self.sample_text
        gen = self.sampling_generator()
        was_training = gen.training
        gen.eval()
        noise = per_caption_noise(self.seed, len(captions), (self.model.noise_dim,), device=self.device)
        images = to_uint8(gen(text, noise).images[-1]).cpu()
        gen.train(was_training)
        save_captioned_grid(images, captions, self.out_dir / "samples" / f"epoch_{self.epoch:03d}.png",
                            title=f"{self.model.name}: epoch {self.epoch}")

