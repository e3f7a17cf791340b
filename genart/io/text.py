"""Text outputs: samples to a file (with a JSON provenance sidecar) or to stdout, optionally streamed."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, TextIO

from genart.errors import ConfigError
from genart.runs import atomic_path, write_json

DEFAULT_LENGTH = 500
DEFAULT_TEMPERATURE = "0.8"
NOT_TEXT = {".png", ".jpg", ".jpeg", ".gif", ".mp4", ".webp", ".mid", ".midi", ".wav", ".npy", ".json"}


def header(seed: int) -> str:
    return f"=== seed {seed} ===\n"


def format_samples(texts: list[str], seeds: list[int]) -> str:
    """One sample: the text itself. Several: each under a '=== seed S ===' line, separated by a blank line."""
    if len(texts) == 1:
        return texts[0] if texts[0].endswith("\n") else texts[0] + "\n"
    return "\n".join(header(s) + (t if t.endswith("\n") else t + "\n") for s, t in zip(seeds, texts, strict=True))


def write_text_file(path: Path, texts: list[str], seeds: list[int], provenance: dict[str, Any]) -> Path:
    """The samples to `path` and their provenance to `path`.json, both atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(format_samples(texts, seeds), encoding="utf-8")
    sidecar = path.with_name(path.name + ".json")
    write_json(sidecar, {**provenance, "samples": [{"seed": s, "characters": len(t)} for s, t in zip(seeds, texts, strict=True)]})
    return sidecar


def generate_text(model: Any, o: Any, stdout: TextIO | None = None) -> str:
    """`genart generate` for text runs: `o` is a GenerateOptions. Returns the one-line summary."""
    from genart.generate import seed_text
    from genart.models.rnn import check_text_run

    check_text_run(model)
    stdout = stdout or sys.stdout
    if o.out is not None and o.out.suffix.lower() in NOT_TEXT:
        raise ConfigError(f"--out {o.out}: a text run writes text, not {o.out.suffix}", "name it e.g. poems.txt")
    seeds = o.seed_list(1, "samples")
    length = DEFAULT_LENGTH if o.length is None else o.length
    temperature = o.temperature if o.temperature is not None else DEFAULT_TEMPERATURE
    kwargs = {"prime": o.prime, "length": length, "temperature": temperature, "top_k": o.top_k, "top_p": o.top_p}
    if o.stream:
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
        texts = model.sampler.generate(n=len(seeds), seeds=seeds, **kwargs)
        if o.out is None:
            stdout.write(format_samples(texts, seeds))
            stdout.flush()
    tokens = "characters" if model.sampler.tokens == "char" else "tokens"
    summary = f"{len(texts)} sample(s) of {length} {tokens}, seeds {seed_text(seeds)}"
    if o.out is None:
        return summary
    prov = model.provenance(seeds=seed_text(seeds), prime=o.prime or "", length=length, temperature=str(temperature),
                            top_k=o.top_k, top_p=o.top_p, tokens=model.sampler.tokens)
    sidecar = write_text_file(o.out, texts, seeds, prov)
    return f"wrote {o.out} ({summary}) and {sidecar.name}"
