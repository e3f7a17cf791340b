"""The studio's denoiser controls through FastAPI's TestClient: sampling settings on every image endpoint (bounded,
recorded, refused by runs without a denoiser), and the repaint endpoints: an upload fitted to the run, inpainting
(unmasked pixels kept) and image-to-image, with bounded, validated image and mask uploads."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from conftest import noise_rgb, train_tiny, train_tiny_diffusion
from PIL import Image

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from genart.studio.app import STATIC, create_app  # noqa: E402
from genart.studio.limits import MAX_UPLOAD_BYTES  # noqa: E402


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    """RUNS_DIR with a class-conditional diffusion run (`dz`) and a tiny GAN (`gan`, no denoiser)."""
    root = tmp_path_factory.mktemp("studio-denoise") / "runs"
    root.mkdir()
    train_tiny_diffusion(root / "dz")
    train_tiny(root / "gan", steps=2)
    return TestClient(create_app(root, device="cpu"), raise_server_exceptions=False)


def png(r) -> Image.Image:
    assert r.status_code == 200 and r.headers["content-type"] == "image/png", r.text
    return Image.open(io.BytesIO(r.content))


def error(r, status: int, fragment: str = "") -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "hint"} and fragment in body["error"], body
    assert "Traceback" not in r.text
    return body


def data_url(img: Image.Image, fmt: str = "PNG") -> str:
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(buf.getvalue()).decode()


def square_mask(size: int = 64) -> Image.Image:
    m = np.zeros((size, size), np.uint8)
    m[size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 255
    return Image.fromarray(m)


def test_the_run_detail_offers_the_denoiser(client: TestClient) -> None:
    detail = client.get("/api/runs/dz").json()
    assert "denoise" in detail["capabilities"]
    assert detail["denoise"] == {"sample_steps": 2, "sampler": "dpm", "guidance": 2.0, "channels": 1, "height": 16,
                                 "width": 16}
    assert "denoise" not in client.get("/api/runs/gan").json()
    page = client.get("/").text
    assert 'id="steps"' in page and 'id="regenerate"' in page and "/static/repaint.js" in page
    script = client.get("/static/repaint.js")
    assert script.status_code == 200 and "https://" not in script.text
    assert 'DENOISE: "denoise"' in (STATIC / "app.js").read_text(encoding="utf-8")


def test_images_render_with_the_settings_and_record_them(client: TestClient) -> None:
    q = {"seed": 3, "steps": 4, "sampler": "heun", "guidance": 2.5, "cls": "1"}
    a = png(client.get("/api/runs/dz/image.png", params=q))
    assert (a.text["genart:sample_steps"], a.text["genart:sampler"], a.text["genart:guidance"]) == ("4", "heun", "2.5")
    assert png(client.get("/api/runs/dz/image.png", params=q)).tobytes() == a.tobytes()  # deterministic
    b = png(client.get("/api/runs/dz/image.png", params={**q, "sampler": "euler"}))
    assert b.tobytes() != a.tobytes()
    plain = png(client.get("/api/runs/dz/image.png", params={"seed": 3}))
    assert plain.text["genart:sample_steps"] == "2"  # the run's own settings again: one request's do not stick
    grid = png(client.get("/api/runs/dz/grid.png", params={"n": 4, "steps": 3, "sampler": "euler"}))
    assert grid.text["genart:sample_steps"] == "3" and grid.text["genart:seeds"] == "0-3"
    walk = client.get("/api/runs/dz/walk.gif", params={"a": "1", "b": "2", "frames": 2, "steps": 1})
    assert walk.status_code == 200 and '"sample_steps": 1' in walk.headers["x-genart-provenance"]
    assert client.get("/api/runs/dz").json()["denoise"]["sample_steps"] == 2


def test_settings_are_bounded_and_need_a_denoiser(client: TestClient) -> None:
    for bad in ({"steps": 0}, {"steps": 65}, {"steps": "many"}, {"guidance": 8.5}, {"guidance": -1},
                {"sampler": "ddpm"}):
        error(client.get("/api/runs/dz/image.png", params={"seed": 0, **bad}), 422)
    error(client.get("/api/runs/gan/image.png", params={"seed": 0, "steps": 4}), 400, "needs a run with a denoiser")
    assert client.get("/api/runs/gan/image.png", params={"seed": 0}).status_code == 200


def test_inpaint_keeps_the_unmasked_pixels(client: TestClient) -> None:
    source = png(client.get("/api/runs/dz/image.png", params={"seed": 5, "size": 16}))  # the current image, run size
    assert source.size == (16, 16)
    body = {"image": data_url(source), "mask": data_url(square_mask()), "seed": 9, "steps": 3, "sampler": "euler",
            "guidance": 2.0}
    r = client.post("/api/runs/dz/inpaint.png", json=body)
    out = png(r)
    assert out.size == (16, 16)
    got, was = np.asarray(out).astype(int), np.asarray(source).astype(int)
    inside = np.zeros((16, 16), bool)
    inside[4:12, 4:12] = True
    assert np.abs(got[~inside] - was[~inside]).max() <= 1 and np.abs(got[inside] - was[inside]).mean() > 5
    assert out.text["genart:sample_steps"] == "3" and out.text["genart:mask_fraction"] == "0.25"
    assert len(out.text["genart:mask_sha256"]) == 64 and out.text["AI-generated"] == "true"
    assert png(client.post("/api/runs/dz/inpaint.png", json=body)).tobytes() == out.tobytes()


def test_uploads_are_fitted_and_redrawn(client: TestClient) -> None:
    upload = data_url(noise_rgb(40, 30, seed=2), "JPEG")
    fitted = png(client.post("/api/runs/dz/fit.png", json={"image": upload}))
    assert fitted.size == (16, 16) and fitted.mode == "L"  # the run's size and channels
    near = png(client.post("/api/runs/dz/redraw.png", json={"image": data_url(fitted), "strength": 0.2, "seed": 1}))
    far = png(client.post("/api/runs/dz/redraw.png", json={"image": data_url(fitted), "strength": 1.0, "seed": 1}))
    was = np.asarray(fitted).astype(int)
    assert np.abs(np.asarray(near).astype(int) - was).mean() < np.abs(np.asarray(far).astype(int) - was).mean()
    assert near.text["genart:strength"] == "0.2"
    error(client.post("/api/runs/dz/redraw.png", json={"image": upload, "strength": 0}), 422)
    error(client.post("/api/runs/dz/redraw.png", json={"image": upload, "strength": 1.5}), 422)


def test_bad_uploads_are_refused_in_one_line(client: TestClient) -> None:
    image, mask = data_url(noise_rgb(16, 16)), data_url(square_mask())
    post = lambda **b: client.post("/api/runs/dz/inpaint.png", json={"image": image, "mask": mask, **b})  # noqa: E731
    error(post(mask=data_url(Image.new("L", (16, 16), 0))), 400, "nothing to regenerate")
    error(post(mask="data:image/png;base64," + base64.b64encode(b"not a png").decode()), 400, "the mask is not a usable")
    error(post(image="data:image/png;base64,"), 422)
    error(post(image="https://example.com/a.png"), 422)
    error(post(mask="data:image/png;base64,@@@"), 422)
    error(post(image="data:image/png;base64," + "A" * (MAX_UPLOAD_BYTES * 4 // 3 + 100)), 422)  # too large
    error(post(steps=0), 422)
    error(post(sampler="x"), 422)
    error(client.post("/api/runs/dz/inpaint.png", json={"image": image}), 422)  # no mask
    error(client.post("/api/runs/gan/inpaint.png", json={"image": image, "mask": mask}), 400, "denoiser")
    error(client.post("/api/runs/gan/fit.png", json={"image": image}), 400, "denoiser")
    huge = Image.new("L", (5000, 4000), 255)  # few bytes, too many pixels: refused before decoding
    error(client.post("/api/runs/dz/fit.png", json={"image": data_url(huge)}), 400, "too large")
