"""One trainer for every GAN of the zoo: config in, safetensors checkpoints out.

:func:`train_gan` runs the alternating updates every model here shares (AttnGAN's
``trainer.py``, StackGAN's, HDGAN's): per batch, the generator makes images from
``(text, noise)``; each discriminator takes one Adam step on
``model.discriminator_loss(batch, detached output)``; then the generator takes one step on
``model.generator_loss(batch, out)`` and its EMA copy is updated.

What it writes to ``out_dir``:

- ``checkpoint.safetensors`` after every epoch: every network the phases train, EMA, the
  current phase's optimizers, AMP scalers, epoch and history (:mod:`models.common.checkpoint`; no pickle).
  Re-running the same command resumes after the last finished epoch with the same
  optimizer state; data order and noise depend only on ``(seed, epoch)``, so a resumed run
  retraces an uninterrupted one (on the same machine and thread count). A finished run can be
  trained further with more ``epochs`` (the only setting that may change on resume);
- ``samples/epoch_NNN.png``: a captioned grid of the EMA generator on fixed test captions
  and fixed noise;
- ``losses.csv`` (one row per epoch: the mean of every loss term, wall ``seconds`` and ``cpu_seconds`` — the
  CPU time of the training process, all its threads, which unlike wall time does not grow when other jobs
  share the machine) and ``losses.png``.

The model declares what is trained (:mod:`models.common.phases`): its phases in order, each
with its updates (a loss method of the model and the network it steps), the optimiser
(Adam or Adamax), learning rates and their step decay; the trainer runs them and knows no
model by name. A model without discriminator has no D update.

Settings (``config["train"]``, defaults in :data:`models.common.phases.TRAIN_DEFAULTS`):
``epochs``, ``batch_size``, ``lr_g``, ``lr_d``, ``betas``, ``optimizer``, ``lr_decay_every``,
``lr_decay_factor``, ``ema`` (decay, or ``None`` for the raw weights), ``init_from``
(:mod:`models.common.init_from`), and the data settings ``load_scale``, ``flip``, ``workers``
(:mod:`models.common.data`).
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
import time
from pathlib import Path

import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from models.common.checkpoint import load_training_state, save_training_state
from models.common.ema import EMA
from models.common.phases import learning_rate, make_optimizer, phase_at, set_learning_rate, total_epochs
from models.common.gan import TextToImageGAN, to_uint8
from t2ibench import distributed
from t2ibench.evaluators.training import epoch_order

CHECKPOINT = "checkpoint.safetensors"
SAMPLE_GRID = 8


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
    terms = [k for k in keys if k not in ("epoch", "seconds", "phase") and not k.startswith("probe_")]
    probes = [k for k in keys if k.startswith("probe_")]
    fig, axes = plt.subplots(1, 2 if probes else 1, figsize=(11 if probes else 7, 4), squeeze=False)
    ax = axes[0, 0]
    for k in terms:
        ax.plot([h["epoch"] for h in history], [h.get(k) for h in history], marker="o", ms=3, label=k)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss (epoch mean)")
    ax.legend(fontsize=7, ncol=2)
    if probes:
        minutes = [sum(h["seconds"] for h in history[:i + 1]) / 60 for i in range(len(history))]
        for k in probes:
            axes[0, 1].plot(minutes, [h.get(k) for h in history], marker="o", ms=3, label=k[len("probe_"):])
        axes[0, 1].set_xlabel("training time (min)")
        axes[0, 1].set_ylabel("held-out check after each epoch")
        axes[0, 1].legend(fontsize=7)
    save_figure(fig, out_dir / "losses.png")


class GANTrainer:
    """Holds the model, its phases' optimizers, EMA and scaler of one run; :meth:`fit` trains it.

    ``probe``: optional ``probe(generator) -> {name: float}`` called on the sampling generator
    after every epoch (``models.train`` passes the shapes classifier's accuracy on held-out
    captions); its values go into the history as ``probe_<name>`` and never touch training.
    """

    def __init__(self, model: TextToImageGAN, data, out_dir, device="cpu", seed: int = 0, progress: bool = True,
                 sample_text=None, amp: bool = True, probe=None, init_report=None):
        # under torchrun: join the process group (t2ibench.distributed, as the sharded evaluation does);
        # "cuda" becomes this rank's cuda:LOCAL_RANK
        ranks = distributed.ranks()
        self.rank, self.world = ranks.rank, ranks.world
        self.device = torch.device(distributed.setup(str(device)))
        self.model, self.data, self.seed = model.to(self.device), data, int(seed)
        if getattr(model, "text_encoder", None) is not None:  # shared with ``data``: each rank encodes on its GPU
            model.text_encoder.to(self.device)
        self.out_dir, self.progress = Path(out_dir), progress and self.rank == 0
        self.train_cfg = model.config["train"]
        self.phases = model.phases()
        self.networks = sorted({u.module for p in self.phases for u in p.updates} | {"generator"})
        decay = self.train_cfg.get("ema")
        self.ema = EMA(model.generator, decay) if decay else None
        self.amp = bool(amp) and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp)
        if sample_text is not None:  # (captions, EncodedText) for the per-epoch grids
            captions, text = sample_text
            sample_text = (captions, text.map(lambda t: t.to(self.device)))
        self.sample_text, self.probe, self.init_report = sample_text, probe, list(init_report or [])
        self.epoch, self.history, self.phase_index, self.optimizers = 0, [], None, {}

    # ------------------------------------------------------------------ phases
    def enter_phase(self, index: int) -> None:
        """Make phase ``index`` current: the model's hook, then fresh optimizers for its updates. When the
        hook says it re-initialised the generator (KT-GAN's student from its teacher), the G EMA restarts
        from the new weights."""
        phase = self.phases[index]
        if self.model.start_phase(phase) and self.ema is not None:
            self.ema = EMA(self.model.generator, self.ema.decay)
        self.optimizers = {u.name: make_optimizer((p for p in getattr(self.model, u.module).parameters()
                                                   if p.requires_grad), self.train_cfg, u.lr)
                           for u in phase.updates}
        self.phase_index = index

    # ------------------------------------------------------------------ state
    def state(self) -> dict:
        return {**{name: getattr(self.model, name).state_dict() for name in self.networks},
                "ema": self.ema.state_dict() if self.ema else None, "phase": self.phase_index,
                "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
                "scaler": self.scaler.state_dict(), "epoch": self.epoch, "history": self.history,
                "config": self.model.config, "seed": self.seed, "init_from": self.init_report}

    def load(self, path) -> None:
        """Resume from ``path``. The checkpoint must come from the same config and seed, except that
        ``train.epochs`` may have grown: training a finished run further retraces a longer run from the
        start (data order, crops and noise depend only on seed and epoch) when every epoch it trained was
        in the phase the new config puts it in (the history's phase names)."""
        s = load_training_state(path)
        saved, done = dict(s.get("config") or {}), int(s["epoch"])
        same_but_epochs = bool(saved) and {**saved, "train": {**saved["train"], "epochs": self.train_cfg["epochs"]}
                                           } == self.model.config
        extends = (same_but_epochs and done <= int(self.train_cfg["epochs"])
                   and [h["phase"] for h in s["history"]] == [self.phases[phase_at(self.phases, e)[0]].name
                                                               for e in range(done)])
        if not extends or s.get("seed") != self.seed:
            raise ValueError(f"training checkpoint {path} was written with another configuration or seed; "
                             f"delete it or train with the same settings (only train.epochs may grow)")
        try:
            for name in self.networks:
                getattr(self.model, name).load_state_dict(s[name])
            if self.ema:
                self.ema.load_state_dict(s["ema"])
            if s.get("phase") is not None:
                self.enter_phase(int(s["phase"]))
                for k, o in self.optimizers.items():
                    o.load_state_dict(s["optimizers"][k])
        except (RuntimeError, KeyError, ValueError, TypeError) as e:
            raise ValueError(f"training checkpoint {path} does not fit this model ({e}); delete it to train "
                             f"from scratch") from e
        if s.get("scaler"):
            self.scaler.load_state_dict(s["scaler"])
        self.epoch, self.history = int(s["epoch"]), list(s["history"])
        self.init_report = list(s.get("init_from") or [])

    def sampling_generator(self) -> torch.nn.Module:
        return self.ema.shadow if self.ema else self.model.generator

    # ------------------------------------------------------------------ one step
    def step(self, batch, noise: torch.Tensor) -> dict:
        """One step of the current phase: the generator once, then each update in order; returns the
        detached loss terms, prefixed with the update's name."""
        model, phase = self.model, self.phases[self.phase_index]
        cuda_autocast = torch.autocast("cuda", enabled=self.amp)
        out = None
        if phase.generate:
            with cuda_autocast:
                out = (getattr(model, phase.forward)(batch, noise) if phase.forward
                       else model.generator(batch.text, noise))
                out.noise = noise
        terms = {}
        for update in phase.updates:
            with cuda_autocast:
                result = getattr(model, update.loss)(batch, out.detached() if update.detach and out else out)
            opt = self.optimizers[update.name]
            opt.zero_grad(set_to_none=True)
            self.scaler.scale(result["loss"]).backward()
            params = [p for g in opt.param_groups for p in g["params"]]
            _average_gradients(params, self.world)
            self.scaler.step(opt)
            self.scaler.update()
            if update.module == "generator" and self.ema:
                self.ema.update(model.generator)
            terms.update({f"{update.name}_{k}" if k != "loss" else f"{update.name}_loss": v
                          for k, v in result.items()})
        return {k: float(v.detach() if torch.is_tensor(v) else v) for k, v in terms.items()}

    # ------------------------------------------------------------------ loop
    def fit(self, epochs: int | None = None, steps_per_epoch: int | None = None,
            max_steps: int | None = None) -> list[dict]:
        """Train until ``epochs`` (default: the phases' total); ``steps_per_epoch`` caps the steps of
        each epoch and ``max_steps`` the steps of this call, after which the cut epoch is saved as
        done (smoke tests). Resumes from ``out_dir/checkpoint.safetensors``."""
        epochs = total_epochs(self.phases) if epochs is None else epochs
        ckpt = self.out_dir / CHECKPOINT
        if ckpt.exists():
            self.load(ckpt)
        if self.world > 1:
            dist.barrier()  # every rank has read the checkpoint before rank 0 may overwrite it
        n = len(self.data)
        bs = max(p.batch_size or self.train_cfg["batch_size"] for p in self.phases)
        if n < bs * self.world:
            raise ValueError(f"training set of {n} images is smaller than one batch of {bs} x {self.world} "
                             f"process(es)")
        noise_dim, done = self.model.noise_dim, 0
        while self.epoch < epochs and (max_steps is None or done < max_steps):
            index, in_phase = phase_at(self.phases, self.epoch)
            bs = self.phases[index].batch_size or self.train_cfg["batch_size"]
            if index != self.phase_index:
                self.enter_phase(index)
            for update in self.phases[index].updates:
                set_learning_rate(self.optimizers[update.name], learning_rate(self.train_cfg, update.lr, in_phase))
            self.model.train()
            order = epoch_order(n, self.seed, self.epoch)[self.rank::self.world]
            steps = len(order) // bs
            for cap in (steps_per_epoch, None if max_steps is None else max_steps - done):
                steps = steps if cap is None else min(steps, cap)
            g = noise_generator(self.seed, self.epoch, self.rank)
            t0, cpu0, sums = time.time(), time.process_time(), {}
            bar = tqdm(self.data.batches([order[s * bs:(s + 1) * bs] for s in range(steps)], self.epoch,
                                         self.device, self.seed),
                       total=steps, desc=f"epoch {self.epoch + 1}/{epochs} ({self.phases[index].name})",
                       disable=not self.progress, leave=False)
            for batch in bar:
                noise = torch.randn(bs, noise_dim, generator=g).to(self.device)
                terms = self.step(batch, noise)
                for k, v in terms.items():
                    sums[k] = sums.get(k, 0.0) + v
                bar.set_postfix({k: f"{v:.3f}" for k, v in terms.items() if k.endswith("_loss")})
            done += steps
            self.epoch += 1
            row = {"epoch": self.epoch, "phase": self.phases[index].name,
                   **{k: round(v / max(steps, 1), 5) for k, v in sums.items()},
                   "seconds": round(time.time() - t0, 1), "cpu_seconds": round(time.process_time() - cpu0, 1)}
            if self.probe is not None and self.rank == 0:
                row.update({f"probe_{k}": v for k, v in self.probe(self.sampling_generator()).items()})
            self.history.append(row)
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

