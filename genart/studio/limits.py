"""Every input the studio takes, bounded: query parameters and request bodies."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Query
from pydantic import BaseModel, Field

MAX_N = 256
MAX_SEED = 2**31 - 1
LATENT_REF = re.compile(r"(\d{1,10})|s:([A-Za-z0-9][A-Za-z0-9_-]{0,63}):(\d{1,3})")  # a seed, or s:SESSION:INDEX

# images
Seed = Annotated[int, Query(ge=0, le=MAX_SEED)]
Count = Annotated[int, Query(ge=1, le=MAX_N)]
Trunc = Annotated[float | None, Query(gt=0, le=10)]
Cls = Annotated[str | None, Query(max_length=100)]
Edits = Annotated[str, Query(max_length=400, pattern=r"^[0-9:.,+\- ]*$")]
Mix = Annotated[int | None, Query(ge=0, le=MAX_SEED)]
Size = Annotated[int, Query(ge=8, le=1024)]
Ref = Annotated[str, Query(max_length=80)]
Frames = Annotated[int, Query(ge=2, le=120)]
Fps = Annotated[int, Query(ge=1, le=50)]

# music
Bars = Annotated[int, Query(ge=1, le=32)]
Temp = Annotated[float, Query(ge=0.05, le=3.0)]
Notes = Annotated[str, Query(max_length=200, pattern=r"^[0-9 ,]*$")]


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


class TextStartBody(BaseModel):  # a text evolution session's generation 0 (genart.studio.text_sessions)
    prime: str = Field("", max_length=1000)
    temperature: float = Field(0.8, ge=0.05, le=3.0)
    length: int = Field(200, ge=1, le=2000)
    n: int = Field(6, ge=2, le=16)
    seed: int = Field(0, ge=0, le=MAX_SEED)

# denoisers (DENOISE): sampling settings on every image request, and images sent in (image-to-image, inpainting)
Steps = Annotated[int | None, Query(ge=1, le=64)]
Method = Annotated[str | None, Query(pattern=r"^(euler|heun|dpm)$")]
Guidance = Annotated[float | None, Query(ge=0, le=8)]
MAX_UPLOAD_BYTES = 8 << 20  # an image or mask sent to the studio, decoded
MAX_UPLOAD_PIXELS = 4096 * 4096
DATA_URL = r"^data:image/[a-z.+-]{1,20};base64,[A-Za-z0-9+/=\s]*$"
DataUrl = Annotated[str, Field(min_length=1, max_length=(MAX_UPLOAD_BYTES * 4) // 3 + 64, pattern=DATA_URL)]


class DenoiseFields(BaseModel):
    steps: int | None = Field(None, ge=1, le=64)
    sampler: str | None = Field(None, pattern=r"^(euler|heun|dpm)$")
    guidance: float | None = Field(None, ge=0, le=8)


class FitBody(BaseModel):
    image: DataUrl


class RedrawBody(DenoiseFields):
    image: DataUrl
    strength: float = Field(0.6, gt=0, le=1)
    seed: int = Field(0, ge=0, le=MAX_SEED)
    cls: str | None = Field(None, max_length=100)


class InpaintBody(DenoiseFields):
    image: DataUrl
    mask: DataUrl
    seed: int = Field(0, ge=0, le=MAX_SEED)
    cls: str | None = Field(None, max_length=100)


# music: infill edits (bars a-b regenerated with seed s, in order) and attribute edits (music VAE sliders)
MAX_INFILLS = 8
MAX_BAR = 64  # a bar number an infill may name (the piece itself says how many it has)
INFILL = r"\d{1,2}-\d{1,2}:\d{1,10}"
Infills = Annotated[str, Query(max_length=200, pattern=rf"^({INFILL}(,{INFILL})*)?$")]
ATTR_EDIT = r"[a-z_]{1,20}:[+-]?\d{1,2}(\.\d{1,3})?"
AttrEdits = Annotated[str, Query(max_length=300, pattern=rf"^({ATTR_EDIT}(,{ATTR_EDIT})*)?$")]


class MusicStartBody(BaseModel):  # a music evolution session's generation 0 (genart.studio.music_sessions)
    n: int = Field(6, ge=2, le=16)
    seed: int = Field(0, ge=0, le=MAX_SEED)


class TextInfillBody(BaseModel):  # regenerate a span of a text: the text before it and after it
    before: str = Field("", max_length=4000)
    after: str = Field("", max_length=4000)
    temperature: float = Field(0.8, ge=0.05, le=3.0)
    length: int = Field(200, ge=1, le=2000)
    n: int = Field(1, ge=1, le=4)
    seed: int = Field(0, ge=0, le=MAX_SEED)
