"""The documentation's examples, run: every console, Python and pycon block of README.md and docs/.

`tests/test_doc_examples.py` runs each page as one test, its blocks in order (a page tells a story:
a later block may rely on what an earlier one did). How a page is written (docs/contributing/examples.md):

- a ```` ```console ```` block: a line starting with `$ ` is a command (a line ending with `\\`
  goes on on the next one), the lines after it are its output, compared after `normalise()`; a
  line `...` stands for any number of lines. Each command runs in `bash -c`, in the page's own
  working directory (a temporary one, holding a copy of `examples/` and a `.venv` link to the
  running virtual environment), with the running environment's `bin/` first on `PATH`;
- a ```` ```python ```` block runs as it is, in a namespace of its own, in this process; it
  checks itself with `assert`s;
- a ```` ```pycon ```` block is a doctest; the pycon blocks of a page share one namespace;
- HTML comments right above a block (blank lines allowed between them) steer it:
  `<!-- needs: fake-dimail serve ARGS at $DIMAIL_URL -->`: a standalone fake started with ARGS
  (in the page's directory, on a free port; `$DIMAIL_URL` and `$DIMAIL_PORT` say where; a line
  going on with `, and fake-dimail serve ARGS at $DIMAIL_COMPARE_URL` starts a second one). The
  next block with the same line reuses it; a different line stops it and starts its own
  (`$FREE_PORT` is a port nothing listens on, for a command that needs one);
  `<!-- example: interrupt -->`: each command is a server, interrupted (SIGINT) once it has
  printed the output shown; `<!-- example: excerpt of PATH -->`: the block is an excerpt of the
  repository's file PATH (its lines, `...` aside, are found there in order), whatever its
  language; `<!-- example: in the repository -->`: commands run at the repository's root
  (skipped unless the running environment is its `.venv`); `<!-- example: skip REASON -->`: not
  run, REASON said in the test's output; `<!-- example: run by tests/TEST.py -->`: run by that
  test module instead (`PageRun(page, dir, runner="tests/TEST.py")` runs those blocks alone), which
  needs the same run for checks of its own: one run of an expensive command serves both, and
  the page cannot drift, since the module must name the page.

`pytest tests/test_doc_examples.py --update-examples` writes each console command's real
output in place of the one shown where they differ (review the diff, restore `...` where wanted).
"""

from __future__ import annotations

import doctest
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
ELLIPSIS = "..."
LANGUAGES = ("console", "python", "pycon")

# --- normalisation: the one place that says what may differ between a page and a run ---------------

# (pattern, replacement), applied in order to every line of both the page's output and the run's.
NORMALISE: list[tuple[re.Pattern[str], str]] = [(re.compile(p), r) for p, r in [
    # Times: log lines, ISO dates, journal entries, crash-log names.
    (r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?(?:Z|[+-]\d\d:?\d\d)?", "<time>"),
    (r"crash-\d{8}-\d{6}-\w+\.log", "crash-<time>.log"),
    # Durations: request logs (`80.9ms`, `115 ms`), pytest's `in 2.92s (0:00:02)`.
    # (pytest adds `(0:01:05)` to a run over a minute: gone, so a loaded machine's slow run still matches)
    (r" \(\d+:\d\d:\d\d\)", ""),
    (r"\b\d+(?:\.\d+)?\s?(?:ms|µs|s)\b", "<duration>"),
    # The same in JSON: the journal's `time` (epoch seconds) and `duration_ms`.
    (r'("time": ?)\d+(?:\.\d+)?', r"\1<time>"),
    (r'("duration_ms": ?)\d+(?:\.\d+)?', r"\1<duration>"),
    # Ports: the page says 8001, the run uses a free one.
    (r"\b(127\.0\.0\.1|localhost|0\.0\.0\.0|\[::1\]):\d+", r"\1:<port>"),
    (r"--port \d+", "--port <port>"),
    (r"\bport \d+ on\b", "port <port> on"),
    # Generated secrets and ids: passwords, tokens, uuids, DKIM keys, the contract suite's run prefix.
    (r"""(["']password["']: ?)(["'])[^"']+\2""", r"\1\2<password>\2"),
    (r"eyJ[\w-]+\.[\w-]+\.[\w-]+", "<token>"),
    (r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", "<uuid>"),
    (r"p=[A-Za-z0-9+/]{40,}={0,2}", "p=<key>"),
    (r"\bct[0-9a-f]{6}\b", "ct<run>"),
    (r"\bdf[0-9a-f]{6}\b", "df<run>"),  # the differential run's
    # HTTP's Date header (`curl -i`).
    (r"^date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$", "date: <time>"),
    # Object addresses in reprs.
    (r"\b0x[0-9a-f]{6,}\b", "0x<address>"),
]]


def normalise(text: str) -> list[str]:
    """A block's output as the lines compared: normalised, trailing spaces and blank ends dropped."""
    lines = []
    for line in text.splitlines():
        for pattern, replacement in NORMALISE:
            line = pattern.sub(replacement, line)
        lines.append(line.rstrip())
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return lines


def matches(expected: list[str], actual: list[str]) -> bool:
    """Whether `actual` fits `expected`, a line `...` in it standing for any number of lines."""
    if not expected:
        return not actual
    if expected[0] == ELLIPSIS:
        return any(matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and actual[0] == expected[0] and matches(expected[1:], actual[1:])


# --- parsing ------------------------------------------------------------------------------------------

DIRECTIVE = re.compile(r"^<!--\s*(needs|example):\s*(.*?)\s*-->$")
FENCE = re.compile(r"^(\s*)(```+)\s*([\w+-]*)")


@dataclass
class Command:
    line: int  # 1-based line of the page where the command starts
    text: str  # the command, continuation lines joined
    output: list[str]  # the output shown, as written
    output_span: tuple[int, int]  # 0-based [start, end) lines of the page holding that output


@dataclass
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    language: str
    body: list[str]
    body_start: int  # 0-based index of the body's first line in the page
    needs: str | None = None
    options: list[str] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{relative(self.page)}:{self.line}"

    def option(self, name: str) -> str | None:
        for option in self.options:
            if option == name or option.startswith(name + " "):
                return option[len(name):].strip()
        return None

    def commands(self) -> list[Command]:
        commands: list[Command] = []
        lines = self.body
        i = 0
        while i < len(lines):
            line = lines[i]
            if not line.startswith("$ "):
                if commands or line.strip():
                    raise ValueError(f"{relative(self.page)}:{self.body_start + i + 1}: "
                                     "a console block starts with a `$ ` command")
                i += 1
                continue
            start = i
            text = line[2:]
            while text.endswith("\\") and i + 1 < len(lines):
                i += 1
                text = text + "\n" + lines[i]
            i += 1
            out_start = i
            while i < len(lines) and not lines[i].startswith("$ "):
                i += 1
            commands.append(Command(self.body_start + start + 1, text, lines[out_start:i],
                                    (self.body_start + out_start, self.body_start + i)))
        return commands


def relative(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def parse(page: Path) -> list[Block]:
    """Every fenced block of a page, with the directives written right above it."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        fence = FENCE.match(lines[i])
        if not fence:
            i += 1
            continue
        indent, ticks, language = fence.groups()
        end = i + 1
        while end < len(lines) and not lines[end].strip().startswith(ticks):
            end += 1
        body = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in lines[i + 1:end]]
        block = Block(page, i + 1, language, body, i + 1)
        j = i - 1
        while j >= 0 and (not lines[j].strip() or DIRECTIVE.match(lines[j].strip())):
            directive = DIRECTIVE.match(lines[j].strip())
            if directive:
                kind, value = directive.groups()
                if kind == "needs":
                    block.needs = value
                else:
                    block.options.extend(part.strip() for part in value.split(","))
            j -= 1
        blocks.append(block)
        i = end + 1
    return blocks


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


# --- running ------------------------------------------------------------------------------------------


class ExampleFailed(AssertionError):
    pass


class Server:
    """The standalone fakes a `needs:` line asks for: `fake-dimail serve ARGS at $DIMAIL_URL`, then
    optionally `, and fake-dimail serve ARGS at $DIMAIL_COMPARE_URL` (a second one, for a comparison)."""

    VARIABLES = ("$DIMAIL_URL", "$DIMAIL_COMPARE_URL")

    def __init__(self, needs: str, cwd: Path) -> None:
        from tests.conftest import start_server

        self.needs = needs
        self.urls: dict[str, str] = {}
        self.processes: list[subprocess.Popen[bytes]] = []
        parts = needs.split(", and ")
        for part, variable in zip(parts, self.VARIABLES, strict=False):
            words, _, at = part.partition(" at ")
            command = words.split()
            if command[:2] != ["fake-dimail", "serve"] or at.strip() != variable or len(parts) > 2:
                self.stop()
                raise ValueError(f"needs: {needs!r}: expected `fake-dimail serve ARGS at $DIMAIL_URL`"
                                 "[`, and fake-dimail serve ARGS at $DIMAIL_COMPARE_URL`]")
            process, url = start_server(*command[2:], cwd=cwd)
            self.processes.append(process)
            self.urls[variable.lstrip("$")] = url

    @property
    def url(self) -> str:
        return self.urls["DIMAIL_URL"]

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGINT)  # a clean stop: a --state file is folded in, as on Ctrl-C
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stderr is not None:  # closed, not left to the collector (a ResourceWarning in another test)
                process.stderr.close()


class PageRun:
    """A page's blocks, run in order in one working directory, sharing servers and a pycon namespace."""

    def __init__(self, page: Path, workdir: Path, update: bool = False, runner: str | None = None) -> None:
        self.page = page
        self.workdir = workdir
        self.update = update
        self.runner = runner  # run only the blocks `run by` it
        self.outputs: list[str] = []  # what each console command printed, in order
        self.server: Server | None = None
        self.pycon_globals: dict[str, Any] = {"__name__": "__doc__"}
        self.updates: list[tuple[tuple[int, int], list[str]]] = []
        self.skipped: list[str] = []
        shutil.copytree(ROOT / "examples", workdir / "examples",
                        ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
        (workdir / ".venv").symlink_to(sys.prefix)

    def env(self) -> dict[str, str]:
        from tests.conftest import CHILD_PYTEST_ADDOPTS, no_bytecode_in_place

        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTEST_", "DIMAIL_", "MAIL_PROVISIONING_", "COV_", "FORCE_COLOR"))
               and k not in ("COLUMNS", "LINES", "CLICOLOR_FORCE", "MAKELEVEL", "MAKEFLAGS", "MFLAGS")}
        env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
                   COLUMNS="80", NO_COLOR="1", PY_COLORS="0", PYTHONUNBUFFERED="1", LC_ALL="C.UTF-8",
                   # without the plugins the output does not depend on (tests/conftest.py says why)
                   PYTEST_ADDOPTS=f"-p no:cacheprovider {CHILD_PYTEST_ADDOPTS}", **no_bytecode_in_place())
        if self.server is not None:
            env.update(self.server.urls, DIMAIL_PORT=self.server.url.rsplit(":", 1)[1])
        from tests.conftest import _free_port

        env["FREE_PORT"] = str(_free_port())  # for a command that must not collide with another run's
        return env

    def run(self) -> None:
        try:
            for block in parse(self.page):
                self.run_block(block)
        finally:
            if self.server is not None:
                self.server.stop()
            if self.updates:  # what ran before a failure is written too
                self.write_updates()

    def run_block(self, block: Block) -> None:
        excerpt = block.option("excerpt of")
        if excerpt is not None:
            check_excerpt(block, ROOT / excerpt)
            return
        if block.language not in LANGUAGES:
            return
        runner = block.option("run by")
        if runner is not None:
            module = ROOT / runner
            if not module.is_file() or relative(self.page) not in module.read_text(encoding="utf-8"):
                raise ExampleFailed(f"{block.where}: `example: run by {runner}`: that module does not name "
                                    f"{relative(self.page)}")
        if runner != self.runner:
            if runner is not None:
                self.skipped.append(f"{block.where}: run by {runner}")
            return
        reason = block.option("skip")
        if reason is not None:
            if not reason:
                raise ExampleFailed(f"{block.where}: `example: skip` needs a reason")
            self.skipped.append(f"{block.where}: {reason}")
            return
        if block.needs and (self.server is None or self.server.needs != block.needs):
            if self.server is not None:
                self.server.stop()
                self.server = None
            self.server = Server(block.needs, self.workdir)
        cwd = self.workdir
        if block.option("in the repository") is not None:
            if (ROOT / ".venv").resolve() != Path(sys.prefix).resolve():
                self.skipped.append(f"{block.where}: runs in the repository's .venv, not this environment")
                return
            cwd = ROOT
        if block.language == "console":
            for command in block.commands():
                self.run_command(block, command, cwd)
        elif block.language == "python":
            self.run_python(block, cwd)
        else:
            self.run_pycon(block, cwd)

    def run_command(self, block: Block, command: Command, cwd: Path) -> None:
        expected = normalise("\n".join(command.output))
        env = self.env()
        if cwd == ROOT:  # `make run` there listens on PORT: a free one, not the developer's 8001
            from tests.conftest import _free_port

            env["PORT"] = str(_free_port())
        if block.option("interrupt") is not None:
            output = run_interrupted(command.text, cwd, env, None if self.update else expected)
        else:
            try:
                output = subprocess.run(["bash", "-c", command.text], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300,
                                        text=True, errors="replace").stdout
            except subprocess.TimeoutExpired as exc:
                raise ExampleFailed(f"{relative(self.page)}:{command.line}: `{command.text}` ran 300 s") from exc
        output = output.replace(str(cwd), ".") if cwd != ROOT else output
        self.outputs.append(output)
        actual = normalise(output)
        if matches(expected, actual):
            return
        if self.update:  # the page shows the ports a reader uses: 8001 for the fake
            compared = env.get("DIMAIL_COMPARE_URL")
            if compared:  # the second fake of a comparison: 8002
                output = output.replace(compared, "http://127.0.0.1:8002")
            for port in {env.get("DIMAIL_PORT"), env.get("PORT")} - {None}:
                output = re.sub(rf"\b(127\.0\.0\.1|localhost):{port}\b", r"\1:8001", output)
                output = re.sub(rf"\bport {port} on\b|--port {port}\b", lambda m: m[0].replace(port, "8001"), output)
            self.updates.append((command.output_span, output.rstrip("\n").splitlines()))
            return
        diff = "\n".join(difflib_lines(expected, actual))
        raise ExampleFailed(f"{relative(self.page)}:{command.line}: the output of `{command.text}` differs from "
                            f"the page's (normalised; - page, + run):\n{diff}\n"
                            "(pytest tests/test_doc_examples.py --update-examples writes the run's output)")

    def in_workdir(self, cwd: Path) -> _Chdir:
        return _Chdir(cwd, {k: v for k, v in self.env().items() if k.startswith("DIMAIL_")})

    def run_python(self, block: Block, cwd: Path) -> None:
        code = compile("\n" * block.body_start + "\n".join(block.body), str(block.page), "exec")
        with self.in_workdir(cwd):
            try:
                exec(code, {"__name__": "__doc__"})
            except BaseException as exc:
                raise ExampleFailed(f"{block.where}: the Python example failed: {type(exc).__name__}: {exc}") from exc

    def run_pycon(self, block: Block, cwd: Path) -> None:
        text = "\n".join(block.body) + "\n"
        test = doctest.DocTestParser().get_doctest(text, self.pycon_globals, block.where, str(block.page),
                                                   block.body_start)
        runner = doctest.DocTestRunner(checker=_Checker(), optionflags=doctest.ELLIPSIS)
        report: list[str] = []
        with self.in_workdir(cwd):
            result = runner.run(test, out=report.append, clear_globs=False)
        if result.failed:
            raise ExampleFailed(f"{block.where}: the pycon example failed:\n" + "".join(report))

    def write_updates(self) -> None:
        lines = self.page.read_text(encoding="utf-8").splitlines()
        for (start, end), output in sorted(self.updates, reverse=True):
            lines[start:end] = output
        self.page.write_text("\n".join(lines) + "\n", encoding="utf-8")


class _Chdir:
    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.cwd, self.env = cwd, env

    def __enter__(self) -> None:
        self.saved = (os.getcwd(), {k: os.environ.get(k) for k in self.env})
        os.chdir(self.cwd)
        os.environ.update(self.env)

    def __exit__(self, *exc: object) -> None:
        cwd, env = self.saved
        os.chdir(cwd)
        for key, value in env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class _Checker(doctest.OutputChecker):
    """Doctest's comparison, after the same normalisation as console output."""

    def check_output(self, want: str, got: str, optionflags: int) -> bool:
        return super().check_output("\n".join(normalise(want)) + "\n", "\n".join(normalise(got)) + "\n",
                                    optionflags)


def run_interrupted(command: str, cwd: Path, env: dict[str, str], expected: list[str] | None) -> str:
    """Run a server command until it has printed what the page shows (or, when writing, until it is quiet 5 s)."""
    process = subprocess.Popen(["bash", "-c", command], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    assert process.stdout is not None
    chunks: list[bytes] = []
    wanted = len([line for line in expected or [] if line != ELLIPSIS])
    deadline = time.monotonic() + 60
    quiet_since = time.monotonic()
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 0.2)
            if ready:
                chunk = os.read(process.stdout.fileno(), 65536)
                if not chunk:
                    break
                chunks.append(chunk)
                quiet_since = time.monotonic()
            text = b"".join(chunks).decode(errors="replace")
            if expected is not None and len(normalise(text)) >= wanted and matches(expected, normalise(text)):
                break
            if expected is None and chunks and time.monotonic() - quiet_since > 5:
                break
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        process.stdout.close()
    return b"".join(chunks).decode(errors="replace")


def check_excerpt(block: Block, source: Path) -> None:
    if not source.is_file():
        raise ExampleFailed(f"{block.where}: `excerpt of {relative(source)}`: no such file in the repository")
    lines = [line.rstrip() for line in source.read_text(encoding="utf-8").splitlines()]
    position = 0
    for line in block.body:
        wanted = line.rstrip()
        if wanted.strip() in (ELLIPSIS, "# ...", ""):
            continue
        try:
            position = lines.index(wanted, position) + 1
        except ValueError:
            raise ExampleFailed(f"{block.where}: not in {relative(source)} (in this order): {wanted!r}") from None


def difflib_lines(expected: list[str], actual: list[str]) -> Iterator[str]:
    import difflib

    return difflib.unified_diff(expected, actual, "page", "run", lineterm="", n=2)
