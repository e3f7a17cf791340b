"""`.genartignore`: paths in a data folder that genart must not read, in gitignore syntax.

A `.genartignore` file in the data folder, or in any folder below it, names paths relative to its own folder, as
git's `.gitignore` does (https://git-scm.com/docs/gitignore): blank lines and `#` comments are skipped; `!` re-includes
what an earlier pattern excluded; a pattern ending in `/` matches folders only; a pattern with a `/` at its start or
in its middle is anchored to the file's folder, any other matches a name at any depth; `*` and `?` match within one
path component, `[...]` a character class, and `**` any number of folders (`**/x`, `a/**/b`, `a/**`). The last
matching line wins, and a deeper file's lines come after its parents'. As in git, a file inside an excluded folder
cannot be re-included (the folder is never entered).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

IGNORE_FILE = ".genartignore"
MAX_BYTES = 1_000_000  # a larger ignore file is refused rather than read


@dataclass(frozen=True)
class Rule:
    regex: re.Pattern[str]
    negate: bool
    dir_only: bool
    text: str  # the line as written, for reasons
    line: int


def _glob(part: str) -> str:
    """One gitignore glob (no `**` handling) as a regular expression that never crosses a `/`."""
    out, i = [], 0
    while i < len(part):
        c = part[i]
        if c == "\\" and i + 1 < len(part):
            out.append(re.escape(part[i + 1]))
            i += 2
            continue
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = part.find("]", i + 2 if part[i + 1:i + 2] in ("!", "^") else i + 1)
            if j < 0:
                out.append(re.escape(c))
            else:
                body = part[i + 1:j]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("(?!/)[" + body.replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def compile_pattern(pattern: str) -> tuple[re.Pattern[str], bool]:
    """A gitignore pattern (without `!`) as a regex over a path relative to the ignore file's folder, and whether it
    matches folders only."""
    dir_only = pattern.endswith("/")
    pattern = pattern.rstrip("/")
    anchored = "/" in pattern
    pattern = pattern.lstrip("/")
    parts = pattern.split("/")
    rx = []
    for k, part in enumerate(parts):
        last = k == len(parts) - 1
        if part == "**":
            rx.append(".*" if last else "(?:[^/]+/)*")
        else:
            rx.append(_glob(part) + ("" if last else "/"))
    body = "".join(rx)
    if not anchored:
        body = "(?:[^/]+/)*" + body
    return re.compile(body + r"\Z", re.DOTALL), dir_only


def parse(text: str) -> list[Rule]:
    rules = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\n\r")
        stripped = line.rstrip(" ")
        if line.endswith("\\ ") and len(stripped) < len(line):
            stripped += " "  # an escaped trailing space is kept
        line = stripped
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        if negate or line.startswith(("\\!", "\\#")):  # `\!` and `\#` start a pattern with ! or #
            line = line[1:]
        if not line or line in ("/",):
            continue
        regex, dir_only = compile_pattern(line)
        rules.append(Rule(regex, negate, dir_only, raw.strip(), n))
    return rules


class IgnoreRules:
    """The `.genartignore` files met while walking a folder: ask `ignored(path, is_dir)` for any path under it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[Path, list[Rule]] = {}  # folder (relative to root) -> its rules
        self.errors: list[dict[str, str]] = []

    def enter(self, folder: Path) -> None:
        """Read folder's own `.genartignore`, if it has one (call before asking about its entries)."""
        path = folder / IGNORE_FILE
        rel = folder.relative_to(self.root)
        if rel in self.files or not path.is_file():
            return
        try:
            if path.stat().st_size > MAX_BYTES:
                raise ValueError(f"larger than {MAX_BYTES:,} bytes")
            self.files[rel] = parse(path.read_text(encoding="utf-8", errors="replace"))
        except (OSError, ValueError) as e:
            self.errors.append({"file": str(rel / IGNORE_FILE), "reason": f"unreadable .genartignore, not applied ({e})"})

    def ignored(self, path: Path, is_dir: bool) -> str | None:
        """Why `path` (under root) is ignored ('.genartignore line 3: *.psd'), or None when it is not."""
        rel = path.relative_to(self.root)
        verdict: tuple[Rule, Path] | None = None
        for folder, rules in self.files.items():  # insertion order: parents before their subfolders
            try:
                sub = rel.relative_to(folder).as_posix()
            except ValueError:
                continue
            for rule in rules:
                if rule.dir_only and not is_dir:
                    continue
                if rule.regex.match(sub):
                    verdict = (rule, folder)
        if verdict is None or verdict[0].negate:
            return None
        rule, folder = verdict
        where = IGNORE_FILE if folder == Path(".") else f"{folder.as_posix()}/{IGNORE_FILE}"
        return f"ignored by .genartignore ({where} line {rule.line}: {rule.text})"
