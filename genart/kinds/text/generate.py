"""`genart generate` for text runs: samples to a file (with a provenance sidecar) or to stdout, streamed or not."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from genart.core.errors import ConfigError
from genart.core.seeds import seed_text
from genart.io.text import NOT_TEXT, format_samples, header, write_text_file

DEFAULT_LENGTH = 500
DEFAULT_TEMPERATURE = "0.8"


def generate_text(model: Any, o: Any, stdout: TextIO | None = None) -> str:
    """`genart generate` for text runs: `o` is a GenerateOptions. Returns the one-line summary."""
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
