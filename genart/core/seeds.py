"""Seeds as people write them ('0-15', '3,7,9') and as outputs name them; seed k always gives the same work."""

from __future__ import annotations

import re

from genart.core.errors import ConfigError

MAX_N = 4096


def parse_seeds(text: str) -> list[int]:
    """'0-15', '3,7,9' or '0-3,10' to a list of seeds."""
    seeds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        m = re.fullmatch(r"(\d+)\s*-\s*(\d+)", part)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            if b < a:
                raise ConfigError(f"--seeds range {part!r} runs backwards", "write it low-high, e.g. 0-15")
            if b - a >= MAX_N:
                raise ConfigError(f"--seeds range {part!r} gives {b - a + 1} seeds", f"give between 1 and {MAX_N}")
            seeds.extend(range(a, b + 1))
        elif part.isdigit():
            seeds.append(int(part))
        else:
            raise ConfigError(f"--seeds {text!r} is not a list of seeds", "write e.g. 0-15 or 3,7,9")
    if not seeds or len(seeds) > MAX_N:
        raise ConfigError(f"--seeds gives {len(seeds)} seeds", f"give between 1 and {MAX_N}")
    return seeds


def seed_list(n: int | None, seed: int, seeds: str | None, default_n: int, what: str) -> list[int]:
    """--seeds, else --n seeds from --seed (default_n when --n is absent); none at all is an error."""
    n = default_n if n is None else n
    out = parse_seeds(seeds) if seeds else list(range(seed, seed + max(0, n)))
    if not out:
        raise ConfigError(f"--n {n} is out of range", f"ask for 1 or more {what}")
    return out


def seed_text(seeds: list[int]) -> str:
    """Seeds as outputs name them: '0-15' for a run of seeds, else '3,7,9'."""
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}" if len(seeds) > 1 else str(seeds[0])
    return ",".join(map(str, seeds))
