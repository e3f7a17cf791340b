"""Preference-steered evolution over latents (in the manner of Picbreeder and Artbreeder), with sessions on disk.

A session holds a population of latents (numbered 0..n-1, left to right and top to bottom in its grid). The user
marks some liked and some disliked; `evolve` proposes the next generation:

- the liked ones are kept, first, in the order given (elitism: what you liked stays on screen);
- children fill the rest but one: two liked parents (or one, if only one is liked) crossed over by a uniform
  per-entry mask, then mutated: z = (child + step * noise) / sqrt(1 + step^2), which keeps codes on the prior's
  shell; a child that lands nearer a disliked latent than its nearest liked one is redrawn (up to 8 times);
- one newcomer, a fresh random latent, keeps variety (n >= 4);
- with nothing liked, everything but the disliked-free newcomers is a mutation of the population, at a larger step.

The step size shrinks as preferences agree. Two signals: `ratio`, the mean distance among the liked latents over
the mean distance in the whole population (0.7 for a single like, 1.6 when nothing is liked), and `agree`, the
fraction of the liked images that descend from earlier likes (kept or children). Then
step <- clamp(step * (0.55 + 0.5 * ratio - 0.3 * agree), 0.05, 1.5): liking a close cluster, or liking again what
was bred from the last likes, shrinks the step; liking scattered newcomers, or nothing, widens it.

Sessions are JSON (latents as lists of floats) in RUN/studio/sessions/NAME.json, written atomically.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch

from genart.core.errors import ConfigError, GenartError

SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
MAX_POPULATION = 256
START_STEP = 0.5


def check_session_name(name: str) -> str:
    if not isinstance(name, str) or not SLUG.fullmatch(name):
        raise ConfigError(f"session name {name!r} is not allowed",
                          "use 1 to 64 letters, digits, '-' or '_', starting with a letter or digit")
    return name


def session_path(run_path: Path, name: str) -> Path:
    return Path(run_path) / "studio" / "sessions" / f"{check_session_name(name)}.json"


class SessionFile:
    """What every session class shares: its JSON file in RUN/studio/sessions/NAME.json (save, load, exists) and
    the lineage of its members. A subclass (a dataclass with `name`, `population`, `parents` and `next_id`) says
    its member class (MEMBER), the hint for a session that does not exist (START_HINT) and, in check_holds, what
    it refuses to read as its own."""

    MEMBER: ClassVar[type]
    START_HINT: ClassVar[str]

    # --- persistence

    def save(self, run_path: Path) -> Path:
        from genart.core.files import write_json

        path = session_path(run_path, self.name)
        write_json(path, asdict(self))
        return path

    @classmethod
    def check_holds(cls, raw: Any, name: str, run_path: Path) -> None:
        """Raise a GenartError when the file's contents `raw` are another kind of session."""

    @classmethod
    def load(cls, run_path: Path, name: str) -> Any:
        from genart.core.files import read_json

        path = session_path(run_path, name)
        if not path.exists():
            raise GenartError(f"no session {name!r} in {Path(run_path).name}", cls.START_HINT)
        raw = read_json(path)
        cls.check_holds(raw, name, run_path)
        try:
            pop = [cls.MEMBER(**m) for m in raw.pop("population")]
            return cls(**raw, population=pop)
        except (TypeError, KeyError) as e:
            raise GenartError(f"session file {path} is damaged ({e})", "delete it to start the session again") from None

    @classmethod
    def exists(cls, run_path: Path, name: str) -> bool:
        return session_path(run_path, name).exists()

    def lineage(self, index: int) -> list[int]:
        """Ids of the ancestors of population[index], first parent at each generation, newest first."""
        out, cur = [], self.population[index].id
        while True:
            out.append(cur)
            ps = self.parents.get(str(cur), [])
            if not ps:
                return out
            cur = ps[0]


@dataclass
class Member:
    z: list[float]
    label: int = -1
    origin: str = "seed"  # seed N | kept K | child of A,B | new
    id: int = 0  # unique within the session: lineage is traced through ids

    def tensor(self) -> torch.Tensor:
        return torch.tensor(self.z, dtype=torch.float32)


@dataclass
class Session(SessionFile):
    name: str
    run: str
    generation: int = 0
    step: float = START_STEP
    seed: int = 0
    truncation: float | None = None
    next_id: int = 0
    population: list[Member] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)  # per generation: liked, disliked, step, ids
    parents: dict[str, list[int]] = field(default_factory=dict)  # id -> parent ids (lineage)

    MEMBER: ClassVar[type] = Member
    START_HINT: ClassVar[str] = "start it with genart evolve RUN --session NAME"

    @classmethod
    def check_holds(cls, raw: Any, name: str, run_path: Path) -> None:
        if raw.get("evolves", "images") != "images":
            raise GenartError(f"session {name!r} of {Path(run_path).name} is a session of {raw['evolves']}, not latents",
                              "give this session another name with --session")

    # --- the population

    def latents(self) -> tuple[torch.Tensor, torch.Tensor]:
        z = torch.stack([m.tensor() for m in self.population])
        return z, torch.tensor([m.label for m in self.population], dtype=torch.long)

    def _member(self, z: torch.Tensor, label: int, origin: str, parents: list[int]) -> Member:
        m = Member(z=[round(float(v), 6) for v in z], label=int(label), origin=origin, id=self.next_id)
        self.parents[str(m.id)] = parents
        self.next_id += 1
        return m


def start_session(model: Any, name: str, n: int = 12, seed: int = 0, truncation: float | None = None,
                  cls_: str | int | None = None) -> Session:
    """Generation 0: the latents of seeds seed .. seed+n-1."""
    check_session_name(name)
    if not 2 <= n <= MAX_POPULATION:
        raise ConfigError(f"--n {n} is out of range", f"a population has 2 to {MAX_POPULATION} images")
    z, y = model.latents(list(range(seed, seed + n)), truncation, cls_)
    s = Session(name=name, run=model.run.name, seed=seed, truncation=truncation)
    s.population = [s._member(z[i], int(y[i]), f"seed {seed + i}", []) for i in range(n)]
    return s


def check_indices(indices: list[int], n: int, what: str, members: str = "images") -> list[int]:
    """The --like/--dislike indices (`what`) checked against a generation of n `members`, without repeats."""
    out = []
    for i in indices:
        if not 0 <= i < n:
            raise ConfigError(f"--{what} {i} is not in this generation", f"{members} are numbered 0 to {n - 1}")
        if i not in out:
            out.append(i)
    return out


def _mean_pairwise(z: torch.Tensor) -> float:
    if z.shape[0] < 2:
        return 0.0
    d = torch.cdist(z, z)
    return float(d.sum() / (z.shape[0] * (z.shape[0] - 1)))


def evolve(session: Session, liked: list[int], disliked: list[int] | None = None, n: int | None = None,
           num_classes: int = 0) -> Session:
    """Replace the session's population by the next generation (see the module's docstring); returns the session."""
    disliked = disliked or []
    pop_z, pop_y = session.latents()
    size = len(session.population)
    n = n or size
    if not 2 <= n <= MAX_POPULATION:
        raise ConfigError(f"--n {n} is out of range", f"a population has 2 to {MAX_POPULATION} images")
    liked = check_indices(liked, size, "like")
    disliked = check_indices(disliked, size, "dislike")
    if set(liked) & set(disliked):
        raise ConfigError(f"images {sorted(set(liked) & set(disliked))} are both liked and disliked", "mark each image once")
    g = torch.Generator().manual_seed(hash((session.seed, session.generation, tuple(liked), tuple(disliked))) % 2**62)

    # step size: shrink as the liked images agree (cluster), grow as they scatter
    if len(liked) >= 2:
        ratio = _mean_pairwise(pop_z[liked]) / max(_mean_pairwise(pop_z), 1e-9)
    else:
        ratio = 0.7 if liked else 1.6
    agree = sum(session.population[i].origin.startswith(("kept", "child")) for i in liked) / max(1, len(liked))
    step = min(1.5, max(0.05, session.step * (0.55 + 0.5 * ratio - 0.3 * agree)))

    good = pop_z[liked] if liked else pop_z[[i for i in range(size) if i not in disliked] or list(range(size))]
    good_idx = liked or [i for i in range(size) if i not in disliked] or list(range(size))
    bad = pop_z[disliked] if disliked else None
    dim = pop_z.shape[1]
    new: list[Member] = []
    for i in liked[:n]:
        m = session.population[i]
        new.append(session._member(pop_z[i], int(pop_y[i]), f"kept {i}", [m.id]))
    newcomers = 1 if n >= 4 else 0
    while len(new) < n - newcomers:
        for _ in range(8):
            a = int(torch.randint(len(good_idx), (1,), generator=g))
            b = int(torch.randint(len(good_idx), (1,), generator=g)) if len(good_idx) > 1 and liked else a
            mask = torch.rand(dim, generator=g) < 0.5
            child = torch.where(mask, good[a], good[b])
            child = (child + step * torch.randn(dim, generator=g)) / math.sqrt(1 + step * step)
            if bad is None or torch.cdist(child[None], bad).min() >= torch.cdist(child[None], good).min():
                break
        ia, ib = good_idx[a], good_idx[b]
        label = int(pop_y[ia]) if not num_classes or bool(torch.rand(1, generator=g) < 0.5) else int(pop_y[ib])
        origin = f"child of {ia}" + (f",{ib}" if ib != ia else "")
        parents = [session.population[ia].id] + ([session.population[ib].id] if ib != ia else [])
        new.append(session._member(child, label, origin, parents))
    while len(new) < n:
        z = torch.randn(dim, generator=g)
        if session.truncation is not None:
            z = z.clamp(-session.truncation, session.truncation)
        label = int(torch.randint(num_classes, (1,), generator=g)) if num_classes else -1
        new.append(session._member(z, label, "new", []))

    session.history.append({"generation": session.generation, "liked": liked, "disliked": disliked,
                            "liked_ids": [session.population[i].id for i in liked], "step": round(step, 4)})
    session.population = new
    session.generation += 1
    session.step = step
    return session


def numbering(session: Session) -> str:
    """One line per kind of member: which numbers were kept, which are children, which are new."""
    kept = [i for i, m in enumerate(session.population) if m.origin.startswith("kept")]
    child = [i for i, m in enumerate(session.population) if m.origin.startswith("child")]
    fresh = [i for i, m in enumerate(session.population) if m.origin in ("new",) or m.origin.startswith("seed")]

    def span(xs: list[int]) -> str:
        if not xs:
            return "none"
        if xs == list(range(xs[0], xs[-1] + 1)) and len(xs) > 2:
            return f"{xs[0]}-{xs[-1]}"
        return ",".join(map(str, xs))

    parts = [f"generation {session.generation} ({len(session.population)} images, numbered 0-"
             f"{len(session.population) - 1} left to right, top to bottom; step {session.step:.3f})"]
    if kept:
        was = ",".join(m.origin.split()[1] for m in session.population if m.origin.startswith("kept"))
        parts.append(f"kept {span(kept)} (were {was})")
    if child:
        parts.append(f"children {span(child)}")
    if fresh:
        parts.append(f"{'seeds' if session.generation == 0 else 'new'} {span(fresh)}")
    return "; ".join(parts)


def render(model: Any, session: Session) -> torch.Tensor:
    z, y = session.latents()
    if z.shape[1] != model.sampler.z_dim:
        raise GenartError(f"session {session.name!r} has latents of size {z.shape[1]}, this run {model.sampler.z_dim}",
                          "start a new session for this run")
    return model.sampler.render(z, y)


def evolve_cli(model: Any, name: str, like: list[int], dislike: list[int], out: Path, n: int = 12, seed: int = 0,
               truncation: float | None = None, cls_: str | int | None = None, nrow: int = 0) -> str:
    """`genart evolve`: start or continue a session, write the generation's grid, return its numbering."""
    from genart.api import require_image_kind
    from genart.core.registry import AUDIO, IMAGES, LATENT
    from genart.io.images import save_grid

    if not model.can(IMAGES) and model.can(AUDIO) and model.can(LATENT):
        return evolve_music_cli(model, name, like, dislike, out, n, seed)
    require_image_kind(model)
    if out.suffix.lower() != ".png":
        raise GenartError(f"--out {out} should be a .png file", "name it e.g. next.png")
    run_path = model.run.path
    if Session.exists(run_path, name):
        session = Session.load(run_path, name)
        if like or dislike:
            evolve(session, like, dislike, num_classes=len(model.classes))
    else:
        if like or dislike:
            raise GenartError(f"session {name!r} does not exist yet, so there is nothing to like",
                              f"start it first: genart evolve {run_path} --session {name} --out {out.name}")
        session = start_session(model, name, n, seed, truncation, cls_)
    images = render(model, session)
    path = session.save(run_path)
    prov = model.provenance(session=name, generation=session.generation, step_size=round(session.step, 4))
    save_grid(images, out, prov, nrow=nrow or None)
    return f"wrote {out} and {path}\n{numbering(session)}"


def evolve_music_cli(model: Any, name: str, like: list[int], dislike: list[int], out: Path, n: int = 12,
                     seed: int = 0) -> str:
    """`genart evolve` for music runs with a latent space: the same sessions as images; each member of the generation
    is decoded (every one from the session's seed, so only its latent differs) and written as one MIDI file,
    next-00.mid, next-01.mid, ... numbered as the images are (and next.png, a piano roll, when genart has one)."""
    import importlib.util

    from genart.io.midi import MIDI_SUFFIXES, output_paths, write_midi

    if out.suffix.lower() not in MIDI_SUFFIXES:
        raise GenartError(f"--out {out} should be a .mid file (one file per member: next-00.mid, ...)",
                          "name it e.g. next.mid")
    run_path = model.run.path
    if Session.exists(run_path, name):
        session = Session.load(run_path, name)
        if like or dislike:
            evolve(session, like, dislike)
    else:
        if like or dislike:
            raise GenartError(f"session {name!r} does not exist yet, so there is nothing to like",
                              f"start it first: genart evolve {run_path} --session {name} --out {out.name}")
        session = start_session(model, name, n, seed)
    z, _ = session.latents()
    if z.shape[1] != model.sampler.z_dim:
        raise GenartError(f"session {name!r} has latents of size {z.shape[1]}, this run {model.sampler.z_dim}",
                          "start a new session for this run")
    scores = model.sampler.decode(z, seeds=[session.seed] * len(z))
    path = session.save(run_path)
    paths = output_paths(out, len(scores)) if len(scores) > 1 else [out.with_name(f"{out.stem}-00{out.suffix}")]
    for k, (score, p) in enumerate(zip(scores, paths, strict=True)):
        write_midi(score, p, model.provenance(session=name, generation=session.generation, member=k,
                                              origin=session.population[k].origin, step_size=round(session.step, 4)))
    extra = ""
    if importlib.util.find_spec("genart.io.pianoroll") is not None:
        from genart.io.pianoroll import save_roll

        roll = out.with_suffix(".png")
        save_roll(scores, roll, model.provenance(session=name, generation=session.generation),
                  titles=[str(k) for k in range(len(scores))])
        extra = f" and {roll.name}"
    return (f"wrote {paths[0].name} ... {paths[-1].name} ({len(paths)} pieces){extra} and {path}\n"
            f"{numbering(session).replace('images', 'pieces').replace(' left to right, top to bottom', '')}")


def simulated_lineage(model: Any, generations: int = 6, n: int = 12, target_seed: int = 999) -> tuple[torch.Tensor, Session]:
    """An evolved lineage for the demo: a simulated user likes the two images closest (in pixels) to the image of
    `target_seed` and dislikes the farthest, for `generations` generations. Returns the target followed by the
    liked-best image of each generation (N, C, H, W), and the session (not saved)."""
    zt, yt = model.latents([target_seed])
    target = model.sampler.render(zt, yt)
    session = start_session(model, "demo", n=n)
    best = []
    for _ in range(generations):
        images = render(model, session)
        order = (images - target).flatten(1).norm(dim=1).argsort().tolist()
        best.append(images[order[0]])
        evolve(session, order[:2], order[-1:], num_classes=len(model.classes))
    return torch.cat([target, torch.stack(best)]), session
