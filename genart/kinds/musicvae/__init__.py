"""Music VAE: a sequence VAE over windows of bars (MusicVAE-style): morphs between melodies, attribute edits, evolution."""

from genart.core.registry import AUDIO, LATENT, MORPH, DemoSection, KindSpec
from genart.kinds.musicvae.config import MUSICVAE_DATA_HELP, MusicVAEConfig

KIND = KindSpec(
    name="musicvae",
    config=MusicVAEConfig,
    summary="Train a music VAE (MusicVAE-style: bidirectional GRU encoder, GRU decoder) on windows of 2-16 bars of "
            "your MIDI files or builtin:bach; morph, edit attributes, evolve.",
    capabilities=frozenset({AUDIO, LATENT, MORPH}),
    data="genart.kinds.musicvae.data:load_windows",
    resolve="genart.kinds.musicvae.data:windows_resolve",
    trainable="genart.kinds.musicvae.model:MusicVAETrainable",
    sampler="genart.kinds.musicvae.model:MusicVAESampler",
    generate="genart.kinds.musicvae.generate:generate_musicvae",
    evaluate="genart.kinds.musicvae.evaluate:evaluate_musicvae",
    demo=(
        DemoSection("musicvae-bach", "Music VAE: morphing chorales", "genart.kinds.musicvae.demo:section", share=0.4,
                    order=55, options={"about": "A music VAE (bidirectional GRU encoder, GRU decoder, 4-bar windows "
                                                "of all four voices) trained briefly on the first 60 Bach chorales; "
                                                "a morph between two held-out windows:"}),
    ),
    data_help=MUSICVAE_DATA_HELP,
    # the smallest settings that exercise every part, for tests (tests/kinds/test_contract.py)
    extras={"tiny": {"config": {"data": "builtin:bach", "max_pieces": 3, "val_split": 0.34, "bars": 2, "latent": 8,
                                "hidden": 16, "embed": 8, "batch": 4, "kl_warmup": 2},
                     "generate": {"out": "song.mid", "n": 2}, "evaluate": {"n": 2}}},
)
