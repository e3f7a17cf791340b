"""The studio's web API (FastAPI) over a folder of runs, and the static page that uses it.

Safety: run names are plain folder names, resolved and checked to lie directly inside RUNS_DIR (no '..', no absolute
paths, no symlinks out); every parameter is bounded; the only files written are evolution sessions and the
directions cache, both inside RUN/studio/. Outputs are made in memory and carry provenance. Model work runs in
FastAPI's thread pool (the endpoints are plain functions), never on the event loop; a small LRU keeps loaded models.
"""

from __future__ import annotations

import io
import json
import re
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Annotated, Any

import torch
from fastapi import Body, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from genart.core.errors import GenartError, RunError

STATIC = Path(__file__).parent / "static"
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MAX_N = 256
MAX_SEED = 2**31 - 1
LATENT_REF = re.compile(r"(\d{1,10})|s:([A-Za-z0-9][A-Za-z0-9_-]{0,63}):(\d{1,3})")


# query parameters, bounded
Seed = Annotated[int, Query(ge=0, le=MAX_SEED)]
Trunc = Annotated[float | None, Query(gt=0, le=10)]
Cls = Annotated[str | None, Query(max_length=100)]
Edits = Annotated[str, Query(max_length=400, pattern=r"^[0-9:.,+\- ]*$")]
Mix = Annotated[int | None, Query(ge=0, le=MAX_SEED)]
Size = Annotated[int, Query(ge=8, le=1024)]

Bars = Annotated[int, Query(ge=1, le=32)]
Temp = Annotated[float, Query(ge=0.05, le=3.0)]
Notes = Annotated[str, Query(max_length=200, pattern=r"^[0-9 ,]*$")]


class StudioError(Exception):
    def __init__(self, status: int, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.status, self.message, self.hint = status, message, hint


def error_json(status: int, message: str, hint: str = "") -> JSONResponse:
    return JSONResponse({"error": message, "hint": hint}, status_code=status)


# --- request bodies --------------------------------------------------------------------------------

class StartBody(BaseModel):
    n: int = Field(12, ge=2, le=MAX_N)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    truncation: float | None = Field(None, gt=0, le=10)
    cls: str | None = Field(None, max_length=100)


class EvolveBody(BaseModel):
    like: list[Annotated[int, Field(ge=0, lt=MAX_N)]] = Field(default_factory=list, max_length=MAX_N)
    dislike: list[Annotated[int, Field(ge=0, lt=MAX_N)]] = Field(default_factory=list, max_length=MAX_N)


class TextBody(BaseModel):
    prime: str = Field("", max_length=1000)
    temperature: float = Field(0.8, ge=0.05, le=3.0)
    length: int = Field(300, ge=1, le=2000)
    n: int = Field(3, ge=1, le=8)
    seed: int = Field(0, ge=0, le=MAX_SEED)


# --- models ----------------------------------------------------------------------------------------

class Models:
    """A small LRU of loaded models, one lock each (rendering shares the weights; one batch at a time per model)."""

    def __init__(self, device: str, size: int = 3) -> None:
        self.device = device
        self.size = size
        self.cache: OrderedDict[Path, tuple[Any, threading.Lock]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, path: Path) -> tuple[Any, threading.Lock]:
        import genart

        with self.lock:
            if path in self.cache:
                self.cache.move_to_end(path)
                return self.cache[path]
        try:
            model = genart.load(str(path), device=self.device)
        except GenartError as e:
            raise StudioError(422, f"run {path.name} cannot be loaded: {e.message}", e.hint) from None
        except Exception as e:  # noqa: BLE001 - a broken run must give a clear answer, not a 500 with a traceback
            raise StudioError(422, f"run {path.name} cannot be loaded ({type(e).__name__}: {str(e)[:200]})",
                              "check the run with genart info, or retrain it") from None
        with self.lock:
            self.cache[path] = (model, threading.Lock())
            while len(self.cache) > self.size:
                self.cache.popitem(last=False)
            return self.cache[path]


# --- the app ---------------------------------------------------------------------------------------

def create_app(runs_dir: str | Path, device: str = "cpu", cache_size: int = 3) -> FastAPI:
    root = Path(runs_dir).resolve()
    if not root.is_dir():
        raise GenartError(f"no folder {runs_dir}", "give the folder holding your runs, e.g. genart studio runs")
    models = Models(device, cache_size)
    app = FastAPI(title="genart studio", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.root = root
    app.state.models = models

    @app.exception_handler(StudioError)
    async def _studio_error(request: Request, e: StudioError) -> JSONResponse:
        return error_json(e.status, e.message, e.hint)

    @app.exception_handler(GenartError)
    async def _genart_error(request: Request, e: GenartError) -> JSONResponse:
        return error_json(422 if isinstance(e, RunError) else 400, e.message, e.hint)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, e: RequestValidationError) -> JSONResponse:
        errs = e.errors()
        first = errs[0] if errs else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("query", "body", "path"))
        return error_json(422, f"invalid {where or 'request'}: {first.get('msg', 'bad value')}",
                          "check the parameter's range")

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, e: StarletteHTTPException) -> JSONResponse:
        return error_json(e.status_code, str(e.detail))

    @app.exception_handler(Exception)
    async def _crash(request: Request, e: Exception) -> JSONResponse:
        return error_json(500, f"internal error ({type(e).__name__})", "run genart with --debug on the command line to see why")

    def run_dirs() -> dict[str, Path]:
        if (root / "config.json").is_file():  # RUNS_DIR is itself one run
            return {root.name: root}
        out = {}
        for p in sorted(root.iterdir()):
            if not p.is_symlink() and p.is_dir() and RUN_NAME.fullmatch(p.name) and (p / "config.json").is_file():
                out[p.name] = p
        return out

    def run_path(name: str) -> Path:
        if not RUN_NAME.fullmatch(name) or ".." in name:
            raise StudioError(400, f"run name {name!r} is not allowed", "use a run folder's own name")
        if (root / "config.json").is_file():
            if name != root.name:
                raise StudioError(404, f"no run {name!r}", "see /api/runs")
            return root
        p = root / name
        if p.is_symlink() or not p.is_dir():
            raise StudioError(404, f"no run {name!r}", "see /api/runs")
        resolved = p.resolve()
        if resolved.parent != root:
            raise StudioError(400, f"run {name!r} lies outside the runs folder", "")
        if not (resolved / "config.json").is_file():
            raise StudioError(404, f"{name!r} is not a genart run", "see /api/runs")
        return resolved

    def model_of(name: str, image: bool | None = None) -> tuple[Any, threading.Lock]:
        model, lock = models.get(run_path(name))
        has_render = hasattr(model.sampler, "render")
        if image is True and not has_render:
            raise StudioError(400, f"{name} is a {model.kind} run; this makes images", "use a gan or vae run")
        if image is False and has_render:
            raise StudioError(400, f"{name} is a {model.kind} run; this makes text or music", "use a text or music run")
        return model, lock

    # --- pages and listings

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/runs")
    def list_runs() -> dict[str, Any]:
        from genart.info import run_info

        out = []
        for name, p in run_dirs().items():
            try:
                facts = run_info(p)
                item = {"name": name, "kind": facts["kind"], "data": facts["data"], "step": facts["step"],
                        "classes": facts.get("classes", []), "figures": _figures(p)}
            except GenartError as e:
                item = {"name": name, "kind": "?", "error": e.message}
            out.append(item)
        return {"runs": out}

    @app.get("/api/runs/{name}")
    def run_detail(name: str) -> dict[str, Any]:
        from genart.info import run_info

        p = run_path(name)
        facts = run_info(p)
        model, lock = model_of(name)
        detail: dict[str, Any] = {"name": name, "kind": model.kind, "data": facts["data"], "step": model.step,
                                  "classes": model.classes, "figures": _figures(p),
                                  "image": hasattr(model.sampler, "render")}
        if detail["image"]:
            with lock:
                d = model.directions(8)
            detail.update(z_dim=model.sampler.z_dim, method=d.method,
                          directions=[{"index": i, "explained": round(float(e), 4)} for i, e in enumerate(d.explained)],
                          sessions=sorted(s.stem for s in (p / "studio" / "sessions").glob("*.json")))
        return detail

    # --- images

    def controls(model: Any, seeds: list[int], truncation: float | None, cls: str | None, edits: str,
                 mix: int | None) -> tuple[torch.Tensor, torch.Tensor]:
        from genart.controls import control_latents, parse_edit

        parsed = [parse_edit(e) for e in edits.split(",") if e.strip()] if edits else []
        return control_latents(model, seeds, truncation, cls or None, None, parsed, mix)

    def png_response(img: Any, prov: dict[str, Any], filename: str, download: bool) -> Response:
        buf = io.BytesIO()
        _save_png_bytes(img, buf, prov)
        headers = {"X-Genart-Provenance": json.dumps(prov, default=str)}
        if download:
            headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        return Response(buf.getvalue(), media_type="image/png", headers=headers)

    @app.get("/api/runs/{name}/image.png")
    def image(name: str, seed: Seed = 0, truncation: Trunc = None, cls: Cls = None, edits: Edits = "", mix: Mix = None,
              size: Size = 128, download: bool = False) -> Response:
        from genart.io.images import to_pil, upscale

        model, lock = model_of(name, image=True)
        z, y = controls(model, [seed], truncation, cls, edits, mix)
        with lock:
            x = model.sampler.render(z, y)
        prov = model.provenance(seed=seed, truncation=truncation, **{"class": cls}, edits=edits or None, mix=mix)
        return png_response(upscale(to_pil(x)[0], size), prov, f"{name}-seed{seed}.png", download)

    @app.get("/api/runs/{name}/grid.png")
    def grid_png(name: str, seed: Seed = 0, n: Annotated[int, Query(ge=1, le=MAX_N)] = 16, truncation: Trunc = None,
                 cls: Cls = None, edits: Edits = "", mix: Mix = None, download: bool = True) -> Response:
        from genart.io.images import grid, upscale

        model, lock = model_of(name, image=True)
        z, y = controls(model, list(range(seed, seed + n)), truncation, cls, edits, mix)
        with lock:
            x = model.sampler.render(z, y)
        prov = model.provenance(seeds=f"{seed}-{seed + n - 1}", truncation=truncation, **{"class": cls},
                                edits=edits or None, mix=mix)
        return png_response(upscale(grid(x)), prov, f"{name}-grid-{seed}.png", download)

    def latent_of(model: Any, ref: str, truncation: float | None, cls: str | None, edits: str,
                  mix: int | None) -> tuple[torch.Tensor, torch.Tensor]:
        from genart.evolve import Session

        m = LATENT_REF.fullmatch(ref)
        if not m:
            raise StudioError(422, f"{ref!r} is not an image reference", "give a seed (12) or s:SESSION:INDEX")
        if m.group(1) is not None:
            seed = int(m.group(1))
            if seed > MAX_SEED:
                raise StudioError(422, f"seed {seed} is out of range", f"use 0 to {MAX_SEED}")
            return controls(model, [seed], truncation, cls, edits, mix)
        session = Session.load(model.run.path, m.group(2))
        i = int(m.group(3))
        if i >= len(session.population):
            raise StudioError(422, f"image {i} is not in session {m.group(2)!r}", f"use 0 to {len(session.population) - 1}")
        z, y = session.latents()
        return z[i:i + 1], y[i:i + 1]

    @app.get("/api/runs/{name}/walk.gif")
    def walk_gif(name: str, a: Annotated[str, Query(max_length=80)], b: Annotated[str, Query(max_length=80)],
                 frames: Annotated[int, Query(ge=2, le=120)] = 24, fps: Annotated[int, Query(ge=1, le=50)] = 12,
                 truncation: Trunc = None, cls: Cls = None, edits: Edits = "", mix: Mix = None, size: Size = 128,
                 download: bool = False) -> Response:
        from genart.io.images import to_pil, upscale
        from genart.models.latent import walk

        model, lock = model_of(name, image=True)
        za, ya = latent_of(model, a, truncation, cls, edits, mix)
        zb, yb = latent_of(model, b, truncation, cls, edits, mix)
        path = walk(torch.cat([za, zb]), frames, loop=True)
        labels = torch.where(torch.arange(frames) < frames // 2, ya[0], yb[0])
        with lock:
            x = model.sampler.render(path, labels)
        pics = [upscale(p.convert("RGB"), size) for p in to_pil(x)]
        prov = model.provenance(a=a, b=b, frames=frames, fps=fps, truncation=truncation, **{"class": cls},
                                edits=edits or None, mix=mix)
        buf = io.BytesIO()
        pics[0].save(buf, format="GIF", save_all=True, append_images=pics[1:], duration=round(1000 / fps), loop=0,
                     comment=json.dumps(prov, default=str).encode())
        headers = {"X-Genart-Provenance": json.dumps(prov, default=str)}
        if download:
            headers["Content-Disposition"] = f'attachment; filename="{name}-walk.gif"'
        return Response(buf.getvalue(), media_type="image/gif", headers=headers)

    # --- evolution sessions

    def session_json(model: Any, s: Any) -> dict[str, Any]:
        from genart.evolve import numbering

        return {"name": s.name, "generation": s.generation, "step": round(s.step, 4), "numbering": numbering(s),
                "members": [{"index": i, "origin": m.origin, "id": m.id} for i, m in enumerate(s.population)],
                "history": s.history}

    @app.get("/api/runs/{name}/sessions/{session}")
    def get_session(name: str, session: str) -> dict[str, Any]:
        from genart.evolve import Session, check_session_name

        check_session_name(session)
        model, _ = model_of(name, image=True)
        if not Session.exists(model.run.path, session):
            raise StudioError(404, f"no session {session!r}", "start it with POST .../start")
        return session_json(model, Session.load(model.run.path, session))

    @app.post("/api/runs/{name}/sessions/{session}/start")
    def start(name: str, session: str, body: StartBody = Body(default_factory=StartBody)) -> dict[str, Any]:
        from genart.evolve import check_session_name, start_session

        check_session_name(session)
        model, lock = model_of(name, image=True)
        with lock:
            s = start_session(model, session, body.n, body.seed, body.truncation, body.cls)
            s.save(model.run.path)
        return session_json(model, s)

    @app.post("/api/runs/{name}/sessions/{session}/evolve")
    def evolve_session(name: str, session: str, body: EvolveBody) -> dict[str, Any]:
        from genart.evolve import Session, check_session_name, evolve

        check_session_name(session)
        model, lock = model_of(name, image=True)
        with lock:
            if not Session.exists(model.run.path, session):
                raise StudioError(404, f"no session {session!r}", "start it first")
            s = Session.load(model.run.path, session)
            evolve(s, body.like, body.dislike, num_classes=len(model.classes))
            s.save(model.run.path)
        return session_json(model, s)

    @app.get("/api/runs/{name}/sessions/{session}/{index}.png")
    def session_image(name: str, session: str, index: int, size: Size = 128,
                      download: bool = False) -> Response:
        from genart.evolve import Session, check_session_name
        from genart.io.images import to_pil, upscale

        check_session_name(session)
        model, lock = model_of(name, image=True)
        s = Session.load(model.run.path, session)
        if not 0 <= index < len(s.population):
            raise StudioError(404, f"image {index} is not in generation {s.generation}", f"use 0 to {len(s.population) - 1}")
        z, y = s.latents()
        with lock:
            x = model.sampler.render(z[index:index + 1], y[index:index + 1])
        prov = model.provenance(session=session, generation=s.generation, index=index, origin=s.population[index].origin)
        return png_response(upscale(to_pil(x)[0], size), prov, f"{name}-{session}-g{s.generation}-{index}.png", download)

    # --- text and music

    @app.post("/api/runs/{name}/text")
    def text(name: str, body: TextBody) -> dict[str, Any]:
        model, lock = model_of(name, image=False)
        if model.kind != "text":
            raise StudioError(400, f"{name} is a {model.kind} run, not a text run", "use a text run")
        with lock:
            texts = model.sampler.generate(n=body.n, prime=body.prime or None, length=body.length,
                                           temperature=body.temperature, seed=body.seed)
        prov = model.provenance(seed=body.seed, prime=body.prime, temperature=body.temperature, length=body.length)
        return {"texts": texts, "provenance": prov}

    def piece(name: str, seed: int, bars: int, temperature: float, notes: str) -> tuple[Any, Any, dict[str, Any]]:
        model, lock = model_of(name, image=False)
        if model.kind != "music":
            raise StudioError(400, f"{name} is a {model.kind} run, not a music run", "use a music run")
        with lock:
            p = model.sampler.generate(n=1, bars=bars, primer_notes=notes or None, temperature=temperature, seed=seed)[0]
        prov = model.provenance(seed=seed, bars=bars, temperature=temperature, primer_notes=notes or None)
        return model, p, prov

    @app.get("/api/runs/{name}/music.wav")
    def music_wav(name: str, seed: Seed = 0, bars: Bars = 8, temperature: Temp = 0.9, notes: Notes = "",
                  download: bool = False) -> Response:
        import wave

        import numpy as np

        from genart.io.audio import SAMPLE_RATE, synthesise

        _, p, prov = piece(name, seed, bars, temperature, notes)
        pcm = np.clip(np.rint(synthesise(p.score) * 32767), -32768, 32767).astype("<i2")
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(pcm.tobytes())
        headers = {"X-Genart-Provenance": json.dumps(prov, default=str)}
        if download:
            headers["Content-Disposition"] = f'attachment; filename="{name}-{seed}.wav"'
        return Response(buf.getvalue(), media_type="audio/wav", headers=headers)

    @app.get("/api/runs/{name}/music.mid")
    def music_mid(name: str, seed: Seed = 0, bars: Bars = 8, temperature: Temp = 0.9, notes: Notes = "") -> Response:
        from genart.io.midi import midi_bytes

        _, p, prov = piece(name, seed, bars, temperature, notes)
        return Response(midi_bytes(p.score, prov), media_type="audio/midi",
                        headers={"Content-Disposition": f'attachment; filename="{name}-{seed}.mid"',
                                 "X-Genart-Provenance": json.dumps(prov, default=str)})

    return app


def _save_png_bytes(img: Any, buf: io.BytesIO, prov: dict[str, Any]) -> None:
    """The PNG with provenance text chunks, as save_png writes them, into memory."""
    from PIL.PngImagePlugin import PngInfo

    from genart.io.images import _text

    info = PngInfo()
    for k, v in prov.items():
        info.add_text(f"genart:{k}" if k != "ai_generated" else "AI-generated", _text(v))
    info.add_text("Software", f"genart {prov.get('genart_version', '')}".strip())
    info.add_text("Comment", "AI-generated with genart")
    img.save(buf, format="PNG", pnginfo=info)


def _figures(run: Path) -> list[dict[str, Any]]:
    p = run / "evaluation.json"
    if not p.is_file():
        return []
    try:
        result = json.loads(p.read_text(encoding="utf-8"))
        return [{"label": f["label"], "model": f["model"], "better": f.get("better")} for f in result.get("figures", [])][:8]
    except (OSError, ValueError, KeyError, TypeError):
        return []
