"""Networks trained per dataset to score generated images, and their shipped weights.

- ``shapes_classifier``: the 48-class ``shapes`` domain classifier (IS, FID, KID on shapes);
- ``damsm``: AttnGAN's DAMSM text and image encoders (R-precision); ``damsm_release`` loads the
  encoders AttnGAN released (and their vocabulary) into the same network;
- ``vse``: VSE++ (Rank-1 retrieval, KT-GAN);
- ``vs_maps``: HDGAN's VS maps f_v, f_t (VS-similarity);
- ``tiny_clip``: a small CLIP-style model standing in for CLIP on ``shapes`` (CMD, ITDis, CLIPScore).

Each module has ``train(out_dir, dataset=..., seed=..., device=..., ...) -> manifest`` and a
``main(argv)``; ``t2ibench train-evaluators`` runs them in dependency order (the VS maps read
the DAMSM sentence encoder). Weights: ``weights/<name>-<dataset>.safetensors`` with a JSON
manifest (:mod:`.checkpoint`); training goes through the one loop in :mod:`.training`.
"""

#: Trainable text-image evaluators, in the order they must be trained (vs reads damsm).
TRAINERS = {"damsm": "t2ibench.evaluators.damsm", "vse": "t2ibench.evaluators.vse",
            "clip": "t2ibench.evaluators.tiny_clip", "vs": "t2ibench.evaluators.vs_maps"}
