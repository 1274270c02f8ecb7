"""The generator zoo: one package per GAN, each registering itself with
:func:`t2ibench.registry.register_generator` when imported here.

Importing ``models`` is how :func:`t2ibench.registry.list_generators` finds the zoo.
Shared parts live in ``models.common`` (so far: conditioning augmentation with its KL
term, the BCE / hinge / least-squares GAN losses with the matching-aware term, EMA).
The zoo's packages (``gan_int_cls``, ``stackgan``, ``attngan``, ``dmgan``, ``hdgan``,
``sdn``, ``ktgan``, ``cpgan``, ``grgan``) are added by the generator-zoo issues; until
then the leaderboards carry the reference rows only.
"""
