"""Music: the recurrent network over MidiTok tokens, trained on MIDI, ABC or MusicXML files or builtin:bach."""

from genart.core.registry import AUDIO, SEQUENCE, DemoSection, KindSpec
from genart.kinds.music.config import MUSIC_DATA_HELP, MusicConfig

KIND = KindSpec(
    name="music",
    config=MusicConfig,
    summary="Train a recurrent music model (LSTM or GRU over MidiTok tokens, all tracks) on your MIDI files or builtin:bach.",
    capabilities=frozenset({SEQUENCE, AUDIO}),
    data="genart.kinds.music.data:load_music",
    resolve="genart.kinds.music.data:music_resolve",
    trainable="genart.kinds.music.model:MusicTrainable",
    sampler="genart.kinds.music.model:MusicSampler",
    generate="genart.kinds.music.generate:generate_music",
    evaluate="genart.kinds.music.evaluate:evaluate_music",
    demo=(
        DemoSection("music-bach", "Music: Bach chorales", "genart.kinds.music.demo:section", share=0.8, order=50,
                    options={"about": "A recurrent network over MidiTok REMI tokens, trained on the first 60 Bach "
                                      "chorales that ship inside music21 (all four voices, six held out):"}),
    ),
    data_help=MUSIC_DATA_HELP,
    # the smallest settings that exercise every part, for tests (tests/kinds/test_contract.py)
    extras={"tiny": {"config": {"data": "builtin:bach", "max_pieces": 3, "val_split": 0.34, "layers": 1, "hidden": 32,
                                "embed": 16, "batch": 4, "bptt": 32, "warmup": 2},
                     "generate": {"out": "song.mid", "n": 2, "bars": 1}, "evaluate": {"n": 2, "length": 1}}},
)
