"""The studio's web API (FastAPI) over a folder of runs, and the static page that uses it.

Safety: run names are plain folder names, resolved and checked to lie directly inside RUNS_DIR (no '..', no absolute
paths, no symlinks out: genart.studio.runs); every parameter is bounded (genart.studio.limits); the only files
written are evolution sessions and the directions cache, both inside RUN/studio/. Outputs are made in memory and
carry provenance (genart.studio.responses). Model work runs in FastAPI's thread pool (the endpoints are plain
functions), never on the event loop; a small LRU keeps loaded models.

Endpoints ask a run's kind for capabilities, never for its name: images (IMAGES; LATENT for directions, mixing,
walks and evolution) in genart.studio.images and .sessions, image-to-image and inpainting (DENOISE) in
genart.studio.denoise, text (SEQUENCE with TEXT; infilling too) in genart.studio.sequences (text evolution in
.text_sessions), music (AUDIO: WAV, MIDI, piano-roll JSON, infills, attribute edits) in genart.studio.music (music
evolution in .music_sessions). A run's detail lists its capabilities, and the page picks its panels from them.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from genart.core.errors import GenartError
from genart.studio.denoise import router as denoise_routes
from genart.studio.errors import StudioError, install_error_handlers
from genart.studio.images import router as image_routes
from genart.studio.listing import router as listing_routes
from genart.studio.music import router as music_routes
from genart.studio.music_sessions import router as music_session_routes
from genart.studio.runs import Runs
from genart.studio.sequences import router as sequence_routes
from genart.studio.sessions import router as session_routes
from genart.studio.text_sessions import router as text_session_routes

STATIC = Path(__file__).parent / "static"

__all__ = ["STATIC", "StudioError", "create_app"]


def create_app(runs_dir: str | Path, device: str = "cpu", cache_size: int = 3) -> FastAPI:
    root = Path(runs_dir).resolve()
    if not root.is_dir():
        raise GenartError(f"no folder {runs_dir}", "give the folder holding your runs, e.g. genart studio runs")
    app = FastAPI(title="genart studio", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.root = root
    app.state.runs = Runs(root, device, cache_size)
    install_error_handlers(app)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for routes in (listing_routes, image_routes, denoise_routes, session_routes, sequence_routes,
                   text_session_routes, music_routes, music_session_routes):
        app.include_router(routes)
    return app
