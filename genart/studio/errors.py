"""The studio's one error shape: every failure is JSON {"error": one line, "hint": what to do}, never a traceback."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from genart.core.errors import GenartError, RunError


class StudioError(Exception):
    def __init__(self, status: int, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.status, self.message, self.hint = status, message, hint


def error_json(status: int, message: str, hint: str = "") -> JSONResponse:
    return JSONResponse({"error": message, "hint": hint}, status_code=status)


def install_error_handlers(app: FastAPI) -> None:
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
