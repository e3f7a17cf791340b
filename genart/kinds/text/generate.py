"""`genart generate` for text runs: samples to a file (with a provenance sidecar) or to stdout, streamed or not."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from genart.core.errors import ConfigError
from genart.core.seeds import seed_text
from genart.io.text import NOT_TEXT, format_samples, header, write_text_file
from genart.metrics import copyguard
from genart.models.infill import require

DEFAULT_LENGTH = 500
DEFAULT_TEMPERATURE = "0.8"
GUARD_DEFAULT = True  # --no-copies unless --copies: measured cheaper than sampling (README, "A copy guard")


def generate_text(model: Any, o: Any, stdout: TextIO | None = None) -> str:
    """`genart generate` for text runs: `o` is a GenerateOptions. Returns the one-line summary."""
    stdout = stdout or sys.stdout
    if o.out is not None and o.out.suffix.lower() in NOT_TEXT:
        raise ConfigError(f"--out {o.out}: a text run writes text, not {o.out.suffix}", "name it e.g. poems.txt")
    if o.infill is not None:
        return infill_text(model, o, stdout)
    seeds = o.seed_list(1, "samples")
    length = DEFAULT_LENGTH if o.length is None else o.length
    temperature = o.temperature if o.temperature is not None else DEFAULT_TEMPERATURE
    kwargs = {"prime": o.prime, "length": length, "temperature": temperature, "top_k": o.top_k, "top_p": o.top_p}
    guarded = None
    if o.stream:
        if o.no_copies:
            raise ConfigError("--no-copies cannot take back text already streamed", "leave out --stream, or use --copies")
        if o.no_copies is None and GUARD_DEFAULT:
            guarded = copyguard.off([], seeds, "streamed text cannot be taken back (leave out --stream to guard it)")
        texts = []
        prime_text, _ = model.sampler.encode_prime(o.prime)
        model.sampler.generate(n=1, seeds=[seeds[0]], **{**kwargs, "length": 1})  # check every option before printing

        def show(k: int, piece: str) -> None:
            stdout.write(piece)
            stdout.flush()

        for i, s in enumerate(seeds):
            if len(seeds) > 1:
                stdout.write(("\n" if i else "") + header(s))
            stdout.write(prime_text)
            stdout.flush()
            texts += model.sampler.generate(n=1, seeds=[s], on_text=show, **kwargs)
            stdout.write("\n" if not texts[-1].endswith("\n") else "")
            stdout.flush()
    else:
        texts, seeds, guarded = guarded_texts(model, o, seeds, kwargs)
        if o.out is None:
            stdout.write(format_samples(texts, seeds))
            stdout.flush()
    tokens = "characters" if model.sampler.tokens == "char" else "tokens"
    summary = f"{len(texts)} sample(s) of {length} {tokens}, seeds {seed_text(seeds)}"
    note = f"\n{guarded.summary()}" if guarded is not None and guarded.summary() else ""
    if o.out is None:
        return summary + note
    prov = model.provenance(seeds=seed_text(seeds), prime=o.prime or "", length=length, temperature=str(temperature),
                            top_k=o.top_k, top_p=o.top_p, tokens=model.sampler.tokens,
                            **(guarded.provenance() if guarded is not None else {}))
    sidecar = write_text_file(o.out, texts, seeds, prov)
    return f"wrote {o.out} ({summary}) and {sidecar.name}{note}"


def guarded_texts(model: Any, o: Any, seeds: list[int], kwargs: dict[str, Any]) -> tuple[list[str], list[int], Any]:
    """The samples of `seeds`; with the copy guard on (the default for text: it costs less than sampling), a sample
    holding a run of more than TEXT_RUN characters of the training text (after the prime) is redrawn from a later
    seed."""
    from genart.kinds.text.data import read_corpus

    def make(s: list[int]) -> list[str]:
        return model.sampler.generate(n=len(s), seeds=s, **kwargs)

    on, asked = copyguard.wanted(o.no_copies, GUARD_DEFAULT)
    cfg = model.run.config
    corpus, why = copyguard.training_data(model, asked, lambda: read_corpus(cfg.data, cfg.encoding)[0]) if on else (None, "")
    if corpus is None:
        return make(seeds), seeds, copyguard.off([], seeds, why)
    prime, _ = model.sampler.encode_prime(o.prime)
    judge, rule = copyguard.run_judge(corpus, copyguard.TEXT_RUN, "characters")
    result = copyguard.guard(seeds, make, lambda texts: judge([t[len(prime):] for t in texts]), rule, "samples")
    return result.items, result.seeds, result


def split_prime(prime: str | None, marker: str) -> tuple[str, str]:
    """--prime "The sea{}the shore" with --infill "{}" to ("The sea", "the shore"); the marker must occur once."""
    if not marker:
        raise ConfigError("--infill needs a marker for the gap", 'write --infill alone for "{}", or e.g. --infill "<gap>"')
    count = (prime or "").count(marker)
    if count != 1:
        where = "--prime is missing" if prime is None else f"it occurs {count} times in --prime"
        raise ConfigError(f"--infill: the gap marker {marker!r} must occur exactly once in --prime ({where})",
                          f'write e.g. --prime "The sea{marker}the shore" --infill' + ("" if marker == "{}" else f" {marker!r}"))
    before, after = str(prime).split(marker)
    return before, after


def infill_text(model: Any, o: Any, stdout: TextIO) -> str:
    """`genart generate --prime "before{}after" --infill`: the gap filled, each text whole (before, middle, after)."""
    before, after = split_prime(o.prime, o.infill)
    if o.stream:
        raise ConfigError("--stream does not go with --infill", "leave out --stream: an infilled text is written whole")
    seeds = o.seed_list(1, "samples")
    temperature = o.temperature if o.temperature is not None else DEFAULT_TEMPERATURE
    kwargs = {"length": o.length, "temperature": temperature, "top_k": o.top_k, "top_p": o.top_p}

    def make(s: list[int]) -> list[str]:
        return model.sampler.infill(before, after, seeds=s, **kwargs)

    require(model.sampler.vocab.markers)  # a run trained with --fim 0 cannot: say so before anything else
    on, asked = copyguard.wanted(o.no_copies, GUARD_DEFAULT)
    cfg = model.run.config
    from genart.kinds.text.data import read_corpus

    corpus, why = copyguard.training_data(model, asked, lambda: read_corpus(cfg.data, cfg.encoding)[0]) if on else (None, "")
    if corpus is None:
        texts, guarded = make(seeds), copyguard.off([], seeds, why)
    else:
        judge, rule = copyguard.run_judge(corpus, copyguard.TEXT_RUN, "characters")
        head, tail = len(before), len(after)
        guarded = copyguard.guard(seeds, make, lambda texts: judge([t[head:len(t) - tail] for t in texts]), rule,
                                  "samples")
        texts, seeds = guarded.items, guarded.seeds
    tokens = "characters" if model.sampler.tokens == "char" else "tokens"
    most = f", at most {o.length} {tokens} each" if o.length else ""
    summary = f"{len(texts)} text(s) with the gap at {o.infill!r} filled{most}, seeds {seed_text(seeds)}"
    note = f"\n{guarded.summary()}" if guarded.summary() else ""
    if o.out is None:
        stdout.write(format_samples(texts, seeds))
        stdout.flush()
        return summary + note
    prov = model.provenance(seeds=seed_text(seeds), prime=o.prime or "", infill=o.infill, length=o.length,
                            temperature=str(temperature), top_k=o.top_k, top_p=o.top_p, tokens=model.sampler.tokens,
                            **guarded.provenance())
    sidecar = write_text_file(o.out, texts, seeds, prov)
    return f"wrote {o.out} ({summary}) and {sidecar.name}{note}"
