"""Text by likes: `genart evolve` for text runs. The user likes some of N texts; the next round continues and
recombines the liked ones.

A text session holds a population of texts (numbered 0..n-1 as written to the file). Generation 0 is N continuations
of the prime (seeds seed .. seed+N-1), each `length` characters (tokens for BPE runs) long. The next generation:

- the liked texts are kept, first, in the order given (elitism: what you liked stays);
- children fill the rest but one, alternating (when two or more texts are parents):
  - a branch of K: liked text K cut back at a random word or line boundary in the later half of its generated part
    (never inside the prime), or not cut at all, then continued by `length`: a new ending on K's beginning;
  - a cross of A,B: the start of liked A up to such a boundary, then the ending of liked B (from a boundary in the
    later half of B's generated part), then continued by `length`: A's beginning, B's ending, a new ending after both;
- one newcomer, a fresh continuation of the original prime, keeps variety (n >= 4).
Branch parents take turns in the order liked; cross pairs are drawn at random. With nothing liked, the parents are
all texts not disliked; disliked texts are never parents (when every text is disliked, all are newcomers).

Temperature adapts to agreement, as the image step size does: `agree` is the fraction of the liked texts that
descend from earlier likes (kept, branch or cross). T <- T * (1.1 - 0.3 * agree - 0.1 [one like only]), or T * 1.2
when nothing is liked; clamped to [0.3, 1.5] (widened to hold the starting temperature). Liking again what was bred
from the last likes lowers it (exploit); liking scattered newcomers, or nothing, raises it (explore).

Reproducible: child k of generation g draws from a seed derived from the session's seed, g and k; the choice of
parents and cut points from the session's seed, the generation and the likes. The same session and likes give the
same next generation.

Texts grow each round. A text longer than MAX_CHARS (4,000) characters keeps its tail (cut at a boundary): the model
is primed with the kept tail and the head is dropped from the member (its `dropped` counts what was cut).

Sessions are JSON in RUN/studio/sessions/NAME.json (the image sessions' folder and name rules), marked
"evolves": "texts" so that a text session is never read as an image session's latents, or the reverse.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import Any, ClassVar

from genart.core.errors import ConfigError, GenartError
from genart.evolve import SessionFile, check_indices, check_session_name

EVOLVES = "texts"  # what a text session file says it holds
MAX_TEXTS = 64
MAX_CHARS = 4000
DEFAULT_LENGTH = 200
START_TEMPERATURE = 0.8  # as `genart generate` samples text by default
MIN_TEMPERATURE, MAX_TEMPERATURE = 0.3, 1.5
BOUNDARY = frozenset(" \n\t.,;:!?\u3002\uff0c\uff01\uff1f\uff1b\uff1a")  # a text may be cut after these


@dataclass
class TextMember:
    text: str
    origin: str = "seed 0"  # seed N | kept K | branch of K | cross of A,B | new
    id: int = 0  # unique within the session: lineage is traced through ids
    seed: int = 0  # the seed its last continuation drew from
    dropped: int = 0  # characters cut from its head to stay within MAX_CHARS


@dataclass
class TextSession(SessionFile):
    name: str
    run: str
    prime: str = ""
    seed: int = 0
    length: int = DEFAULT_LENGTH
    temperature: float = START_TEMPERATURE
    start_temperature: float = START_TEMPERATURE
    generation: int = 0
    next_id: int = 0
    population: list[TextMember] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)  # per generation: liked, disliked, temperature
    parents: dict[str, list[int]] = field(default_factory=dict)  # id -> parent ids (lineage)
    evolves: str = EVOLVES

    MEMBER: ClassVar[type] = TextMember
    START_HINT: ClassVar[str] = "start it with genart evolve RUN --session NAME --out next.txt"

    @classmethod
    def check_holds(cls, raw: Any, name: str, run_path: Path) -> None:
        if not isinstance(raw, dict) or raw.get("evolves") != EVOLVES:
            what = "an image session (latents)" if isinstance(raw, dict) and "step" in raw else "not a text session"
            raise GenartError(f"session {name!r} of {Path(run_path).name} is {what}, not texts",
                              "give this text session another name with --session")

    # --- the population

    def _member(self, text: str, origin: str, parents: list[int], seed: int, dropped: int) -> TextMember:
        m = TextMember(text=text, origin=origin, id=self.next_id, seed=seed, dropped=dropped)
        self.parents[str(m.id)] = parents
        self.next_id += 1
        return m

    def generated_from(self, m: TextMember) -> int:
        """Where m's generated part begins: every member starts with the prime, less what was dropped."""
        return max(0, len(self.prime) - m.dropped)


def derived_seed(*parts: Any) -> int:
    """A seed in [0, 2^31) from the parts (the same parts, the same seed, on every machine)."""
    digest = hashlib.sha256(":".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def _check_start(n: int, temperature: float, length: int) -> None:
    if not 2 <= n <= MAX_TEXTS:
        raise ConfigError(f"--n {n} is out of range", f"a text population has 2 to {MAX_TEXTS} texts")
    if not 0.05 <= temperature <= 3:
        raise ConfigError(f"--temperature {temperature} is out of range", "use 0.05 to 3; 0.8 is typical")
    if not 1 <= length <= 2000:
        raise ConfigError(f"--length {length} is out of range", "each round adds 1 to 2,000 characters (or tokens)")


def _continue(model: Any, base: str, length: int, temperature: float, seed: int) -> tuple[str, int]:
    """`base` (its tail, if long) continued by `length`: (the text capped at MAX_CHARS, characters dropped)."""
    base, cut = cap(base)
    text = model.sampler.generate(n=1, prime=base or None, length=length, temperature=temperature, seeds=[seed])[0]
    text, more = cap(text)
    return text, cut + more


def cap(text: str, limit: int | None = None) -> tuple[str, int]:
    """The text's last `limit` (MAX_CHARS) characters or fewer, starting after a boundary where one is near:
    (tail, characters dropped)."""
    limit = MAX_CHARS if limit is None else limit
    if len(text) <= limit:
        return text, 0
    start = len(text) - limit
    for p in range(start, min(len(text), start + 200)):
        if text[p - 1] in BOUNDARY:
            return text[p:], p
    return text[start:], start


def start_text_session(model: Any, name: str, n: int = 8, seed: int = 0, length: int | None = None,
                       temperature: float | None = None, prime: str | None = None) -> TextSession:
    """Generation 0: the continuations of `prime` by seeds seed .. seed+n-1."""
    check_session_name(name)
    length = DEFAULT_LENGTH if length is None else int(length)
    temperature = START_TEMPERATURE if temperature is None else float(temperature)
    _check_start(n, temperature, length)
    prime_text, _ = model.sampler.encode_prime(prime)  # the prime as the model reads it (checked against its vocabulary)
    seeds = list(range(seed, seed + n))
    texts = model.sampler.generate(n=n, prime=prime_text or None, length=length, temperature=temperature, seeds=seeds)
    s = TextSession(name=name, run=model.run.name, prime=prime_text, seed=seed, length=length,
                    temperature=temperature, start_temperature=temperature)
    for text, sd in zip(texts, seeds, strict=True):
        text, dropped = cap(text)
        s.population.append(s._member(text, f"seed {sd}", [], sd, dropped))
    return s


def adapt_temperature(session: TextSession, liked: list[int]) -> float:
    """The next round's temperature (see the module's docstring)."""
    if liked:
        bred = ("kept", "branch", "cross")
        agree = sum(session.population[i].origin.startswith(bred) for i in liked) / len(liked)
        factor = 1.1 - 0.3 * agree - (0.1 if len(liked) == 1 else 0.0)
    else:
        factor = 1.2
    lo = min(MIN_TEMPERATURE, session.start_temperature)
    hi = max(MAX_TEMPERATURE, session.start_temperature)
    return round(min(hi, max(lo, session.temperature * factor)), 4)


def _cuts(text: str, lo: int, inner: bool) -> list[int]:
    """Cut points in the later half of text[lo:]: after a boundary character; the end too unless `inner`. Without
    a boundary there, every position of that half."""
    half = lo + (len(text) - lo) // 2
    cuts = [p for p in range(max(half, lo + 1, 1), len(text)) if text[p - 1] in BOUNDARY]
    if not cuts:
        cuts = list(range(max(half, lo + 1), len(text)))
    return cuts if inner else [*cuts, len(text)]


def evolve_texts(model: Any, session: TextSession, liked: list[int], disliked: list[int] | None = None,
                 length: int | None = None) -> TextSession:
    """Replace the session's population by the next generation (see the module's docstring); returns the session."""
    disliked = disliked or []
    pop = session.population
    size = len(pop)
    liked = check_indices(liked, size, "like", "texts")
    disliked = check_indices(disliked, size, "dislike", "texts")
    if set(liked) & set(disliked):
        raise ConfigError(f"texts {sorted(set(liked) & set(disliked))} are both liked and disliked", "mark each text once")
    if length is not None:
        _check_start(size, session.temperature, length)
        session.length = int(length)
    g = session.generation + 1
    rng = Random(derived_seed(session.seed, session.generation, "choices", liked, disliked))
    temperature = adapt_temperature(session, liked)
    parents = liked or [i for i in range(size) if i not in disliked]
    if not liked:
        rng.shuffle(parents)

    new: list[TextMember] = []
    for i in liked:
        m = pop[i]
        new.append(session._member(m.text, f"kept {i}", [m.id], m.seed, m.dropped))
    newcomers = (1 if size >= 4 else 0) if parents else size - len(new)
    branches = 0
    while len(new) < size - newcomers:
        seed = derived_seed(session.seed, g, len(new))
        if len(parents) >= 2 and len(new) % 2 == 1:  # a cross of two different parents
            ia, ib = rng.sample(parents, 2)
            a, b = pop[ia], pop[ib]
            head = a.text[:rng.choice(_cuts(a.text, session.generated_from(a), inner=False))]
            tail = b.text[rng.choice(_cuts(b.text, session.generated_from(b), inner=True) or [len(b.text)]):]
            origin, ids = f"cross of {ia},{ib}", [a.id, b.id]
        else:  # a branch: parents take turns
            ia = parents[branches % len(parents)]
            branches += 1
            a = pop[ia]
            head, tail = a.text[:rng.choice(_cuts(a.text, session.generated_from(a), inner=False))], ""
            origin, ids = f"branch of {ia}", [a.id]
        text, dropped = _continue(model, head + tail, session.length, temperature, seed)
        new.append(session._member(text, origin, ids, seed, a.dropped + dropped))
    while len(new) < size:
        seed = derived_seed(session.seed, g, len(new))
        text, dropped = _continue(model, session.prime, session.length, temperature, seed)
        new.append(session._member(text, "new", [], seed, dropped))

    session.history.append({"generation": session.generation, "liked": liked, "disliked": disliked,
                            "liked_ids": [pop[i].id for i in liked], "temperature": temperature,
                            "length": session.length})
    session.population = new
    session.generation = g
    session.temperature = temperature
    return session


def numbering(session: TextSession, preview: int = 60) -> str:
    """A line for the generation, then one per text: its number, origin, size and how it ends."""
    n = len(session.population)
    lines = [f"generation {session.generation} ({n} texts, numbered 0-{n - 1} as in the file; "
             f"temperature {session.temperature:.2f}, +{session.length} per round)"]
    for i, m in enumerate(session.population):
        end = m.text[-preview:].replace("\n", " / ").strip()
        lines.append(f"  {i:>2}  {m.origin:<16} {len(m.text):>5} chars  ...{end}")
    return "\n".join(lines)


def evolve_text_cli(model: Any, name: str, like: list[int], dislike: list[int], out: Path, n: int = 8, seed: int = 0,
                    length: int | None = None, temperature: float | None = None, prime: str | None = None) -> str:
    """`genart evolve` on a text run: start or continue a session, write the generation as numbered texts (with a
    provenance sidecar) and the session, and return the numbering."""
    from genart.core.registry import TEXT
    from genart.core.seeds import seed_text
    from genart.io.text import NOT_TEXT, write_text_file

    if not model.can(TEXT):
        raise ConfigError(f"{model.run.name} is a {model.kind} run, not a text run", "evolve it with --out next.png")
    if out.suffix.lower() in NOT_TEXT:
        raise ConfigError(f"--out {out}: a text run writes text, not {out.suffix}", "name it e.g. next.txt")
    check_session_name(name)
    run_path = model.run.path
    if TextSession.exists(run_path, name):
        session = TextSession.load(run_path, name)
        given_prime = None if prime is None else model.sampler.encode_prime(prime)[0]
        if given_prime is not None and given_prime != session.prime:
            raise ConfigError(f"session {name!r} started from another --prime", "leave --prime out to continue it, "
                              "or start a new session with --session")
        if temperature is not None and temperature != session.start_temperature:
            raise ConfigError(f"session {name!r} started at temperature {session.start_temperature} and adapts it",
                              "leave --temperature out to continue it, or start a new session with --session")
        if like or dislike:
            evolve_texts(model, session, like, dislike, length)
    else:
        if like or dislike:
            raise GenartError(f"session {name!r} does not exist yet, so there is nothing to like",
                              f"start it first: genart evolve {run_path} --session {name} --out {out.name}")
        session = start_text_session(model, name, n, seed, length, temperature, prime)
    path = session.save(run_path)
    seeds = [m.seed for m in session.population]
    prov = model.provenance(session=name, generation=session.generation, prime=session.prime,
                            temperature=session.temperature, length=session.length, tokens=model.sampler.tokens,
                            seeds=seed_text(seeds), origins=[m.origin for m in session.population])
    texts = [f"[{i}] {m.origin}\n{m.text}" for i, m in enumerate(session.population)]
    write_text_file(out, texts, seeds, prov)
    return f"wrote {out} and {path}\n{numbering(session)}"
