"""Which zoo models the generic zoo tests cover and which have a test file of their own.

``ZOO``: every model of the zoo (``models.common.zoo.list_models()`` must equal it). The seed papers'
models (issue 12) are multi-phase or bring their own pretrained parts; their training smoke runs,
resume, variants and full-size steps are tested in ``OWN_TEST_FILE``, the generic tests of
``test_models_zoo.py`` and ``test_models_paper_configs.py`` cover the others.
"""
ZOO = ["attngan", "cpgan", "dmgan", "gan-int-cls", "grgan", "hdgan", "ktgan", "sdn", "stackgan", "stackgan++"]
OWN_TEST_FILE = {
    "cpgan": "tests/test_models_cpgan.py",
    "grgan": "tests/test_models_grgan.py",
    "ktgan": "tests/test_models_ktgan.py",
    "sdn": "tests/test_models_sdn.py",
}
