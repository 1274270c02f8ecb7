"""Generated images on disk: PNG shards written atomically, with a manifest, resumable.

An evaluation that is given an image folder (``evaluate(..., image_dir=DIR)``;
``t2ibench eval`` writes to ``OUT/images``) keeps every generated image there::

    DIR/manifest.json            which run the images belong to (generator, its fingerprint,
                                 dataset fingerprint, seed, n_images, sha256 of the caption
                                 plan, shard size); written once, atomically
    DIR/shard-00000/             images 0 .. shard_size-1 of the plan
        00000000.png ...         one lossless PNG per image (never JPEG: DESIGN §3)
        index.json               plan index, caption and sha256 of every PNG of the shard

A shard is written into a hidden temporary folder (``.shard-00000.tmp-…``), every file
is flushed to disk, and the folder is renamed into place: a shard folder that exists is
complete. A crash or ``kill -9`` leaves only complete shards and, at most, one temporary
folder, which the next run removes. Re-running the same command reads the complete
shards back (each PNG checked against its sha256 first) and generates only the missing
ones, so it regenerates nothing, duplicates nothing, and gives the same images, hence
the same metrics, as an uninterrupted run.

Errors, all before any number is computed and without deleting anything: a folder that
belongs to another run (other generator, seed, dataset, plan or n_images); a PNG whose
bytes no longer match its sha256 (truncated, edited) or that does not decode; a failed
write (disk full, permissions): the shards already written stay intact and the message
says to rerun the command once the cause is fixed.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from t2ibench.io import path_inside, write_json

#: Format tag of ``manifest.json``; bump when the layout changes.
STORE_FORMAT = "t2ibench-images/1"
MANIFEST = "manifest.json"
SHARD_INDEX = "index.json"
_SHARD_NAME = re.compile(r"^shard-(\d{5})$")


def encode_png(image: torch.Tensor) -> bytes:
    """PNG bytes of one uint8 image ``[3, H, W]`` (lossless)."""
    buf = io.BytesIO()
    Image.fromarray(image.permute(1, 2, 0).contiguous().numpy(), mode="RGB").save(buf, format="PNG")
    return buf.getvalue()


def decode_png(data: bytes, where: str) -> torch.Tensor:
    """uint8 ``[3, H, W]`` from PNG bytes; a file that does not decode is a ``ValueError`` naming ``where``."""
    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.format != "PNG":
                raise ValueError(f"it is {im.format}, not PNG")
            array = np.asarray(im.convert("RGB"))
    except Exception as e:  # noqa: BLE001 — PIL raises many types for a broken file; report them alike
        raise ValueError(f"generated image {where} cannot be decoded ({type(e).__name__}: {e})") from e
    return torch.from_numpy(array.copy()).permute(2, 0, 1)


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a folder be fsync'ed
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class ImageStore:
    """The shard folder of one run (see the module docstring). Create it with :meth:`open`."""

    def __init__(self, root: Path, identity: dict, n_images: int, shard_size: int):
        self.root, self.identity = Path(root), identity
        self.n_images, self.shard_size = int(n_images), int(shard_size)

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def open(cls, root, identity: dict, n_images: int, shard_size: int) -> "ImageStore":
        """Open ``root`` for the run described by ``identity`` (a JSON-able dict).

        A new or empty folder gets a manifest. A folder with a manifest must belong to the same
        run (same identity and n_images); its shard size is kept from the manifest, so a rerun
        with another ``shard_size`` still resumes. Leftover temporary shard folders of an
        interrupted run are removed. Anything else in the folder is left alone.
        """
        root = Path(root)
        if root.exists() and not root.is_dir():
            raise ValueError(f"image folder {root}: exists and is not a folder")
        if not isinstance(shard_size, int) or isinstance(shard_size, bool) or shard_size < 1:
            raise ValueError(f"shard_size: expected a positive int, got {shard_size!r}")
        manifest_path = root / MANIFEST
        if manifest_path.is_file():
            try:
                manifest = json.loads(manifest_path.read_text())
                old_identity, old_n, old_shard = manifest["run"], manifest["n_images"], manifest["shard_size"]
                if manifest.get("format") != STORE_FORMAT:
                    raise ValueError(f"format {manifest.get('format')!r}, expected {STORE_FORMAT!r}")
            except (ValueError, KeyError, TypeError) as e:
                raise ValueError(f"image folder {root}: {MANIFEST} is unreadable ({e}); move the folder away or "
                                 f"delete it to generate the images again") from e
            if old_identity != identity or old_n != n_images:
                diff = {k: (old_identity.get(k), identity.get(k)) for k in sorted(set(old_identity) | set(identity))
                        if old_identity.get(k) != identity.get(k)}
                if old_n != n_images:
                    diff["n_images"] = (old_n, n_images)
                shown = "; ".join(f"{k}: folder {a!r}, this run {b!r}" for k, (a, b) in diff.items())
                raise ValueError(f"image folder {root} holds images of another run ({shown}); give another output "
                                 f"folder, or delete this one to generate the images again")
            store = cls(root, identity, n_images, old_shard)
        else:
            if root.is_dir() and any(_SHARD_NAME.match(p.name) for p in root.iterdir()):
                raise ValueError(f"image folder {root} has shard folders but no {MANIFEST}; it was not written by "
                                 f"this version of t2ibench or was damaged; give another output folder")
            store = cls(root, identity, n_images, shard_size)
            write_json(manifest_path, {"format": STORE_FORMAT, "run": identity, "n_images": int(n_images),
                                       "shard_size": int(shard_size)})
        for stale in root.glob(".shard-*.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)
        return store

    @classmethod
    def existing(cls, root) -> "ImageStore":
        """An image folder as its manifest describes it (for reading back what a run wrote)."""
        root = Path(root)
        try:
            manifest = json.loads((root / MANIFEST).read_text())
            return cls(root, manifest["run"], manifest["n_images"], manifest["shard_size"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"image folder {root}: no readable {MANIFEST} ({e})") from e

    def head(self, k: int) -> torch.Tensor:
        """The first ``k`` images of the run, read back from its complete shards."""
        images, have = [], 0
        for shard, _, _ in self.shard_ranges():
            if have >= k:
                break
            images.append(self.read(shard))
            have += len(images[-1])
        if have < k:
            raise ValueError(f"image folder {self.root}: fewer than {k} images are written")
        return torch.cat(images)[:k]

    # -- layout --------------------------------------------------------------------------------
    def shard_ranges(self) -> list[tuple[int, int, int]]:
        """``[(shard, start, stop)]`` covering plan indices ``0 .. n_images``."""
        return [(k, start, min(start + self.shard_size, self.n_images))
                for k, start in enumerate(range(0, self.n_images, self.shard_size))]

    def shard_dir(self, shard: int) -> Path:
        return self.root / f"shard-{shard:05d}"

    def is_complete(self, shard: int) -> bool:
        return self.shard_dir(shard).is_dir()

    def completed(self) -> list[int]:
        return [k for k, _, _ in self.shard_ranges() if self.is_complete(k)]

    # -- reading and writing -------------------------------------------------------------------
    def read(self, shard: int, captions: Sequence[str] | None = None) -> torch.Tensor:
        """The uint8 images ``[n, 3, H, W]`` of a complete shard, each checked against its sha256.

        ``captions``: the plan's captions for the shard, compared with the shard's index so that a
        folder edited by hand cannot pair images with the wrong captions (``None``: not compared).
        """
        folder = self.shard_dir(shard)
        _, start, stop = self.shard_ranges()[shard]
        try:
            index = json.loads((folder / SHARD_INDEX).read_text())
            entries = index["images"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ValueError(f"shard {folder}: {SHARD_INDEX} is missing or unreadable ({e}); delete the shard "
                             f"folder to generate it again") from e
        if [e.get("index") for e in entries] != list(range(start, stop)) or (
                captions is not None and [e.get("caption") for e in entries] != list(captions)):
            raise ValueError(f"shard {folder}: its {SHARD_INDEX} lists other images or captions than plan entries "
                             f"{start}..{stop - 1} of this run; delete the shard folder to generate it again")
        images = []
        for e in entries:
            path = path_inside(folder, str(e.get("file", "")), what=f"shard {folder}: image file")
            try:
                data = path.read_bytes()
            except OSError as err:
                raise ValueError(f"generated image {path} cannot be read ({err}); delete the shard folder {folder} "
                                 f"to generate it again") from err
            if hashlib.sha256(data).hexdigest() != e.get("sha256"):
                raise ValueError(f"generated image {path} does not match the sha256 in {SHARD_INDEX} (truncated or "
                                 f"changed after it was written); delete the shard folder {folder} to generate it "
                                 f"again")
            images.append(decode_png(data, str(path)))
        if len({tuple(x.shape) for x in images}) != 1:
            raise ValueError(f"shard {folder}: its images have different sizes {sorted({tuple(x.shape) for x in images})}")
        return torch.stack(images)

    def write(self, shard: int, images: torch.Tensor, captions: Sequence[str]) -> None:
        """Write a shard atomically: PNGs and index into a temporary folder, then rename it into place.

        A failed write (``OSError``: disk full, permissions) removes the temporary folder, leaves
        every complete shard as it was, and raises an ``OSError`` saying so.
        """
        _, start, stop = self.shard_ranges()[shard]
        if images.dtype != torch.uint8 or images.ndim != 4 or len(images) != stop - start:
            raise ValueError(f"shard {shard}: expected {stop - start} uint8 images [n, 3, H, W], got "
                             f"{images.dtype} {tuple(images.shape)}")
        final = self.shard_dir(shard)
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=self.root, prefix=f".{final.name}.tmp-"))
        try:
            entries = []
            for j, (image, caption) in enumerate(zip(images, captions, strict=True)):
                name = f"{start + j:08d}.png"
                data = encode_png(image)
                _write_synced(tmp / name, data)
                entries.append({"index": start + j, "file": name, "caption": caption,
                                "sha256": hashlib.sha256(data).hexdigest()})
            _write_synced(tmp / SHARD_INDEX, json.dumps({"shard": shard, "images": entries}, indent=1).encode())
            _fsync_dir(tmp)
            os.rename(tmp, final)
            _fsync_dir(self.root)
        except OSError as e:
            shutil.rmtree(tmp, ignore_errors=True)
            done = len(self.completed())
            raise OSError(e.errno, f"could not write shard {shard} of the generated images to {self.root} "
                                   f"({e.strerror or e}); the {done} complete shard(s) already there are intact: fix "
                                   f"the cause and rerun the same command to resume") from e
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
