"""Every ``hsi ...`` command line README.md shows uses commands and options that exist.

The command lines of README.md's shell code blocks, and the inline code spans of its prose
that start with ``hsi``, are parsed by click's own option parser on the resolved (sub-)command of
:data:`hsi.cli.main.cli`: an unknown command or option, an option without its value, an extra
argument, or a value outside a choice or number range fails, naming the README line. Nothing
is run and no file is read: placeholders such as ``scene.tif``, ``MODEL.pt``, ``NAME`` or
``...`` are fine as arguments, and a prose span may leave out required arguments.

The parser is called directly, not through ``make_context(..., resilient_parsing=True)``: in
that mode click's parser drops its usage errors, an unknown option included.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from hsi.cli.main import COMMANDS, cli

README = Path(__file__).resolve().parents[1] / "README.md"

#: A fenced code block: its language and its text.
FENCE = re.compile(r"^```([\w-]*)[ \t]*\n(.*?)^```", re.M | re.S)
#: An inline code span (it may wrap onto the next line of a paragraph).
INLINE = re.compile(r"`([^`\n]+(?:\n[^`\n]+)*)`")
#: Tokens that stand for "more of the same" in README's command lines.
ELLIPSES = {"...", "…"}
#: Option values README writes as placeholders (``--patch-size N``), not checked by type.
PLACEHOLDER = re.compile(r"[A-Z][A-Z0-9_]*|.*….*|.*\.\.\..*")
#: Option types whose values are checked (paths and custom types are placeholders here).
CHECKED_TYPES = (click.Choice, click.types.IntParamType, click.types.FloatParamType)


def readme_commands(text: str) -> list[tuple[int, str, str, list[str]]]:
    """``(line, where, command line, tokens after "hsi")`` of every ``hsi`` command README shows.

    Shell code blocks (every fence that is not ``python``; ``where`` is ``"block"``) give one
    command per line, their ``#`` comments dropped; inline spans that start with ``hsi`` give
    the others (``"inline"``). Optional parts in square brackets (``[-o demo-out]``,
    ``[NAME]``) count as given.
    """
    found = []
    for m in FENCE.finditer(text):
        if m.group(1).lower() in ("python", "py", "pycon"):
            continue
        first = text.count("\n", 0, m.start(2)) + 1
        for i, line in enumerate(m.group(2).splitlines()):
            tokens = shlex.split(line, comments=True)
            while tokens and re.fullmatch(r"[A-Za-z_]\w*=.*", tokens[0]):
                tokens.pop(0)  # VAR=value before the command
            if tokens and Path(tokens[0]).name == "hsi":
                found.append((first + i, "block", line.split(" #")[0].strip(), tokens[1:]))
    prose = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)  # line numbers kept
    for m in INLINE.finditer(prose):
        span = " ".join(m.group(1).split())
        if span.startswith("hsi "):
            found.append((prose.count("\n", 0, m.start()) + 1, "inline", span,
                          shlex.split(span)[1:]))
    return found


def _unbracketed(tokens: list[str]) -> list[str]:
    out = []
    for token in tokens:
        token = token.removeprefix("[").removesuffix("]")
        if token and token not in ELLIPSES:
            out.append(token)
    return out


def _bad_value(cmd: click.Command, ctx: click.Context, opts: dict) -> str | None:
    """What is wrong with an option value given on the line (choices and numbers only)."""
    for param in cmd.params:
        if not isinstance(param, click.Option) or param.name not in opts \
                or not isinstance(param.type, CHECKED_TYPES) or param.is_flag:
            continue
        given = opts[param.name]
        for value in given if isinstance(given, (list, tuple)) else [given]:
            if not isinstance(value, str) or PLACEHOLDER.fullmatch(value):
                continue
            try:
                param.type.convert(value, param, ctx)
            except click.BadParameter as exc:
                return f"{param.opts[0]} {value}: {exc.format_message()}"
    return None


def resolve(tokens: list[str]) -> tuple[str, str | None]:
    """The command path ``hsi TOKENS`` names (``"hsi classify train"``) and why the line is
    not valid (``None`` when it is).

    Walks :data:`hsi.cli.main.cli` down to the sub-command the tokens name, parsing each
    level's options with that command's click parser (no callbacks, no type conversion but
    for :data:`CHECKED_TYPES`).
    """
    args = _unbracketed(tokens)
    cmd: click.Command = cli
    ctx: click.Context | None = None
    name = "hsi"
    while True:
        ctx = click.Context(cmd, info_name=name, parent=ctx)
        try:
            opts, rest, _ = cmd.make_parser(ctx).parse_args(args=list(args))
        except click.UsageError as exc:
            return ctx.command_path, exc.format_message()
        bad = _bad_value(cmd, ctx, opts)
        if bad:
            return ctx.command_path, bad
        if not isinstance(cmd, click.Group) or not rest:
            break  # (a group named alone is prose: "`hsi classify-batch`")
        sub = cmd.get_command(ctx, rest[0])
        if sub is None:
            return ctx.command_path, f"no such command {rest[0]!r}"
        name, cmd, args = rest[0], sub, rest[1:]
    if rest:
        return ctx.command_path, f"unexpected extra argument(s) {' '.join(rest)!r}"
    return ctx.command_path, None


def command_problem(tokens: list[str]) -> str | None:
    """Why ``hsi TOKENS`` is not a valid command line, or ``None`` when it is."""
    path, problem = resolve(tokens)
    return None if problem is None else f"{path}: {problem}"


def _leaf_commands(group: click.Group, ctx: click.Context) -> list[str]:
    paths = []
    for name in group.list_commands(ctx):
        sub = group.get_command(ctx, name)
        sub_ctx = click.Context(sub, info_name=name, parent=ctx)
        if isinstance(sub, click.Group):
            paths += _leaf_commands(sub, sub_ctx)
        else:
            paths.append(sub_ctx.command_path)
    return paths


COMMAND_LINES = readme_commands(README.read_text(encoding="utf-8"))


def test_readme_has_command_lines():
    blocks = [c for c in COMMAND_LINES if c[1] == "block"]
    assert len(blocks) >= 25, f"only {len(blocks)} hsi command lines in README.md's code blocks"
    assert len(COMMAND_LINES) > len(blocks), "no inline `hsi ...` span found in README.md"


@pytest.mark.parametrize("line, where, text, tokens", COMMAND_LINES,
                         ids=[f"README.md:{c[0]}" for c in COMMAND_LINES])
def test_readme_command_parses(line, where, text, tokens):
    problem = command_problem(tokens)
    assert problem is None, f"README.md:{line} ({where}): `{text}`: {problem}"


def test_every_command_has_a_readme_example():
    ctx = click.Context(cli, info_name="hsi")
    leaves = _leaf_commands(cli, ctx)
    assert {p.split()[1] for p in leaves} == set(COMMANDS)
    shown = {resolve(tokens)[0] for _, where, _, tokens in COMMAND_LINES if where == "block"}
    missing = sorted(set(leaves) - shown)
    assert not missing, f"commands without an example in README.md's code blocks: {missing}"


@pytest.mark.parametrize("tokens, wanted", [
    (["fuse", "lr.tif", "hr.tif", "-o", "f.tif", "--bogus"], "No such option"),
    (["fuse", "lr.tif", "hr.tif", "-o"], "requires an argument"),
    (["fuse", "lr.tif", "hr.tif", "extra.tif", "-o", "f.tif"], "extra argument"),
    (["fuse", "lr.tif", "hr.tif", "-o", "f.tif", "--method", "nope"], "--method nope"),
    (["fuse", "lr.tif", "hr.tif", "-o", "f.tif", "--tile", "8"], "--tile 8"),
    (["data", "lst"], "no such command 'lst'"),
    (["--bogus", "info", "x.tif"], "No such option"),
])
def test_checker_catches(tokens, wanted):
    problem = command_problem(tokens)
    assert problem is not None and wanted in problem, problem


def test_checker_accepts_placeholders():
    assert command_problem(["fusion", "train", "…", "--batch", "128"]) is None
    assert command_problem(["demo", "[-o", "demo-out]"]) is None
    assert command_problem(["data", "export", "NAME", "-o", "DIR"]) is None
    assert command_problem(["--debug", "..."]) is None
