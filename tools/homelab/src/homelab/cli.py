"""The `homelab` command line: check, plan, render, deploy."""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path
from typing import TextIO

from homelab.charmdb import CharmDB, channel_track, find_repo
from homelab.check import check_documents
from homelab.problems import (
    ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PROBLEMS,
    EXIT_USAGE,
    Problem,
    has_errors,
)
from homelab.upstream import LAB_LINES
from homelab.yamlio import Document, YamlError, load, loads

EXIT_CODES = """exit codes:
  0  ok (warnings may have been printed)
  1  problems found (errors; or warnings too with --strict)
  2  usage or input error: bad arguments, missing file, broken YAML, invalid site file
  3  deploy: a juju command failed (its output is printed; nothing after it ran)
  4  deploy: the juju client is not installed or not on PATH
  130 interrupted"""

BUILTIN = {"charmed-kubernetes": LAB_LINES["current"][0], "kubeflow": LAB_LINES["current"][1]}
DEFAULT_SITE = "sites/example.yaml"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _builtin_document(name: str, channel: str | None) -> Document:
    from homelab.upstream import charmed_kubernetes, kubeflow

    track = channel_track(channel) or BUILTIN[name]
    data = charmed_kubernetes(track) if name == "charmed-kubernetes" else kubeflow(track)
    return Document(f"{name} {track}/stable (built-in)", data, [])


def _repo_root(start: Path | None = None) -> Path:
    return find_repo(start) or Path.cwd()


def _print_problems(problems: list[Problem], out: TextIO) -> None:
    for problem in problems:
        out.write(f"{problem}\n")


def cmd_check(args: argparse.Namespace, out: TextIO) -> int:
    """Check one bundle with its overlays, or (no arguments) every shipped combination."""
    if getattr(args, "site", None):  # issue 12: the whole lab of a site, layout fit included
        from homelab.plan import make_plan

        site = _load_site(args.site, args.err)
        if site is None:
            return EXIT_USAGE
        plan = make_plan(site, _default_out(site.name), CharmDB(find_repo()), _program())
        return _report(plan.problems, args, out, f"site {args.site}")
    if args.bundle is None and not args.overlay:
        return _check_shipped(args, out)
    bundle = args.bundle or "charmed-kubernetes"
    try:
        if bundle in BUILTIN and not Path(bundle).exists():
            docs = [_builtin_document(bundle, args.channel)]
        else:
            docs = [load(bundle)]
        docs += [load(path) for path in args.overlay]
    except YamlError as exc:
        args.err.write(
            f"{exc.path}:{exc.line}:{exc.column}: error: {exc.message}\n"
            if exc.line
            else f"{exc}\n"
        )
        return EXIT_USAGE
    start = Path(bundle).resolve().parent if Path(bundle).exists() else None
    db = CharmDB(find_repo(start))
    problems, merged = check_documents(docs, db, trust=args.trust)
    from homelab.network import binding_problems  # a bound space on every machine (issue 13)

    problems += binding_problems(merged, docs[-1].path)
    return _report(problems, args, out, " + ".join(d.path for d in docs))


def _report(problems: list[Problem], args: argparse.Namespace, out: TextIO, what: str) -> int:
    failed = has_errors(problems, strict=args.strict)
    if getattr(args, "format", "text") == "json":
        out.write(json.dumps([p.__dict__ for p in problems], indent=2) + "\n")
    else:
        _print_problems(problems, out)
        errors = sum(1 for p in problems if p.severity == ERROR)
        verdict = "FAIL" if failed else "ok"
        warnings = len(problems) - errors
        out.write(f"{verdict}: {what}: {errors} error(s), {warnings} warning(s)\n")
    return EXIT_PROBLEMS if failed else EXIT_OK


@dataclasses.dataclass(frozen=True)
class Combination:
    """One bundle + overlays combination `check` with no arguments covers."""

    bundle: str  # a file under the repository, or charmed-kubernetes / kubeflow (built in)
    overlays: tuple[str, ...] = ()  # files under the repository, in order
    trust: bool = False
    channel: str | None = None  # of the built-in bundle (None: its default, or --channel)
    # The shipped overlays are the example site rendered for its line (current); for the legacy
    # line they are rendered again in memory from the example site, as `render` would.
    line: str | None = None

    def label(self) -> str:
        """How the combination is named in check's report and in test ids."""
        names = [_rendered_label(o, self.line) if self.line else o for o in self.overlays]
        bundle = f"{self.bundle} {self.channel}" if self.channel else self.bundle
        return " + ".join([bundle, *names])


def _rendered_label(overlay: str, line: str) -> str:
    return f"{overlay} ({DEFAULT_SITE} rendered for the {line} line)"


def shipped_combinations(repo: Path) -> list[Combination]:
    """Every combination this repository ships, both Charmed Kubernetes lines included."""
    combos = [Combination(str(b.relative_to(repo))) for b in sorted(repo.glob("bundles/*.yaml"))]
    ck = ["placement", "storage", "gpu-worker", "gpu-storage"]
    overlays = repo / "overlays"
    for name in ck:
        if (overlays / f"{name}.yaml").exists() and name != "gpu-storage":
            combos.append(Combination("charmed-kubernetes", (f"overlays/{name}.yaml",)))
    full = tuple(f"overlays/{n}.yaml" for n in ck if (overlays / f"{n}.yaml").exists())
    if full:
        combos.append(Combination("charmed-kubernetes", full))
    if (overlays / "kubeflow.yaml").exists():
        combos.append(Combination("kubeflow", ("overlays/kubeflow.yaml",), trust=True))
    if (repo / DEFAULT_SITE).exists() and (overlays / "nfs-legacy-1.28.yaml").exists():
        legacy = "1.28/stable"
        nfs = ("overlays/storage.yaml", "overlays/nfs-legacy-1.28.yaml")
        combos.append(Combination("charmed-kubernetes", nfs, channel=legacy, line="legacy"))
        lab = (*full, "overlays/nfs-legacy-1.28.yaml")
        combos.append(Combination("charmed-kubernetes", lab, channel=legacy, line="legacy"))
    return combos


def combination_documents(
    repo: Path, combo: Combination, channel: str | None = None
) -> list[Document]:
    """The documents of one combination (raises YamlError for a broken file)."""
    if combo.bundle in BUILTIN:
        docs = [_builtin_document(combo.bundle, combo.channel or channel)]
    else:
        docs = [load(repo / combo.bundle, combo.bundle)]
    if combo.line is None:
        return docs + [load(repo / o, o) for o in combo.overlays]
    from homelab.render import render_overlays
    from homelab.site import LINES, Site, validate

    site = validate(load(repo / DEFAULT_SITE, DEFAULT_SITE))
    if site.problems:
        first = site.problems[0]
        raise YamlError(first.file, f"error: {first.key}: {first.message}", first.line)
    values = {**site.values, "kubernetes": {**site.values["kubernetes"], "line": combo.line}}
    line_site = Site(site.path, values)
    texts = render_overlays(line_site, LINES[combo.line], [])
    for rel in combo.overlays:
        name = Path(rel).stem
        docs.append(loads(texts[name], _rendered_label(rel, combo.line)))
    return docs


def _check_shipped(args: argparse.Namespace, out: TextIO) -> int:
    repo = _repo_root()
    combos = shipped_combinations(repo)
    if not combos:
        args.err.write("error: nothing to check: no bundles/ or overlays/ here (give BUNDLE)\n")
        return EXIT_USAGE
    db = CharmDB(repo)
    worst = EXIT_OK
    for combo in combos:
        try:
            docs = combination_documents(repo, combo, args.channel)
        except YamlError as exc:
            args.err.write(f"{exc}\n")
            worst = EXIT_USAGE
            continue
        problems, merged = check_documents(docs, db, trust=combo.trust or args.trust)
        from homelab.network import binding_problems

        problems += binding_problems(merged, docs[-1].path)
        code = _report(problems, args, out, " + ".join(d.path for d in docs))
        worst = max(worst, code) if worst != EXIT_USAGE else worst
    return worst


def _load_site(path: str, err: TextIO):
    """The validated site, or None after writing its problems to `err`."""
    from homelab.site import validate

    try:
        doc = load(path)
    except YamlError as exc:
        err.write(f"{exc}\n")
        return None
    site = validate(doc)
    if site.valid("charms.source", "charms.local_dir"):
        from homelab.render import local_charm_problems

        site.problems += local_charm_problems(site)
    if site.problems:
        _print_problems(site.problems, err)
        err.write(f"FAIL: site file {path}: {len(site.problems)} problem(s); nothing was done\n")
        return None
    return site


def _shown(path: Path) -> str:
    """`path` relative to the working directory when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _default_out(site_name: str) -> Path:
    return Path("build") / "homelab" / site_name


def _program() -> str:
    """How to call this tool from here: the checkout's wrapper at its root, else `homelab`."""
    here = Path.cwd()
    return (
        "./homelab"
        if (here / "homelab").is_file() and (here / "tools/homelab").is_dir()
        else "homelab"
    )


def cmd_plan(args: argparse.Namespace, out: TextIO) -> int:
    """Print the plan for a site."""
    from homelab.plan import format_mermaid, format_text, make_plan

    site_path = args.site or _shown(_repo_root() / DEFAULT_SITE)
    if args.site is None and not Path(site_path).exists():
        args.err.write(f"error: no --site given and {DEFAULT_SITE} not found\n")
        return EXIT_USAGE
    site = _load_site(site_path, args.err)
    if site is None:
        return EXIT_USAGE
    outdir = Path(args.out) if args.out else _default_out(site.name)
    plan = make_plan(site, outdir, CharmDB(find_repo()), _program(), juju=args.juju)
    if args.format == "mermaid":
        out.write(format_mermaid(plan))
    elif args.format == "commands":
        for step in plan.steps:
            out.write(step.shell() + "\n")
    else:
        out.write(format_text(plan))
    _print_problems(plan.problems, args.err)  # errors and warnings: never in the command list
    return EXIT_PROBLEMS if has_errors(plan.problems, args.strict) else EXIT_OK


def cmd_render(args: argparse.Namespace, out: TextIO) -> int:
    """Render the overlays and bundles of a site."""
    from homelab.render import render, write

    site = _load_site(args.site, args.err)
    if site is None:
        return EXIT_USAGE
    rendered = render(site)
    outdir = Path(args.out) if args.out else _default_out(site.name)
    for warning in rendered.warnings:
        args.err.write(f"warning: {warning}\n")
    for path in write(rendered, outdir):
        out.write(f"wrote {path}\n")
    return EXIT_OK


def _login_file(plan, outdir: Path, args: argparse.Namespace, out: TextIO) -> None:
    """Make or keep the dashboard login file (0600); say where it is, never what is in it."""
    if not plan.site.get("kubeflow.enabled"):
        return
    from homelab.stages import ensure_login

    user = plan.site.get("kubeflow.username")
    path, what = ensure_login(user, outdir, rotate=getattr(args, "new_password", False))
    out.write(f"dashboard login: user {user}, password {what} in {path} (mode 0600)\n")


def cmd_deploy(args: argparse.Namespace, out: TextIO) -> int:
    """Render, check, then run the juju commands."""
    from homelab.deploy import deploy
    from homelab.plan import make_plan
    from homelab.render import write

    site = _load_site(args.site, args.err)
    if site is None:
        return EXIT_USAGE
    outdir = Path(args.out) if args.out else _default_out(site.name)
    from homelab.jujuver import deploy_juju

    juju = deploy_juju(args, args.err)
    if juju is None:
        return EXIT_USAGE
    plan = make_plan(site, outdir, CharmDB(find_repo()), _program(), juju=juju)
    if has_errors(plan.problems, args.strict):
        _print_problems(plan.problems, args.err)
        args.err.write("FAIL: the rendered lab has problems; nothing was deployed\n")
        return EXIT_PROBLEMS
    if not args.dry_run:
        write(plan.rendered, outdir)
        _login_file(plan, outdir, args, out)  # issue 12 (homelab.stages): never prints it
    _print_problems(plan.problems, args.err)  # warnings
    return deploy(plan.steps, dry_run=args.dry_run, out=out, err=args.err)


def cmd_build(args: argparse.Namespace, out: TextIO) -> int:
    """Pack the checkout's charms with charmcraft into the site's charms.local_dir."""
    from homelab.build import BuildError, Request, build
    from homelab.site import validate

    site_path = args.site or _shown(_repo_root() / DEFAULT_SITE)
    try:
        site = validate(load(site_path))
    except YamlError as exc:
        args.err.write(f"{exc}\n")
        return EXIT_USAGE
    if site.problems:
        _print_problems(site.problems, args.err)
        args.err.write(
            f"FAIL: site file {site_path}: {len(site.problems)} problem(s); nothing was done\n"
        )
        return EXIT_USAGE
    repo = find_repo()
    if repo is None:
        args.err.write("error: build needs the homelab-charms checkout (charms/, core/)\n")
        return EXIT_USAGE
    local_dir = Path(site.path).parent / Path(site.get("charms.local_dir")).expanduser()
    request = Request(
        root=repo,
        output=Path(args.out) if args.out else local_dir,
        names=args.charm,
        platform=args.platform,
        destructive_mode=args.destructive_mode,
        dry_run=args.dry_run,
    )
    try:
        packed = build(request, out, args.err)
    except BuildError as exc:
        args.err.write(f"error: {exc}\n")
        return EXIT_USAGE
    except OSError as exc:
        args.err.write(f"error: {exc.filename or ''}: {exc.strerror or exc}\n")
        return EXIT_USAGE
    if packed.failed:
        args.err.write(f"FAIL: not packed: {', '.join(packed.failed)}\n")
        return EXIT_USAGE
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (every command has --help)."""
    parser = _Parser(
        prog="homelab",
        description="Render, check, plan and deploy the homelab-charms lab.",
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    common = {"formatter_class": argparse.RawDescriptionHelpFormatter, "epilog": EXIT_CODES}

    check = sub.add_parser(
        "check",
        help="check a bundle and overlays as Juju 3.6 merges them",
        description=(
            "Merge BUNDLE and the overlays in order, exactly as Juju 3.6 does, and report every "
            "problem with file, line and key. BUNDLE is a file, or charmed-kubernetes / kubeflow "
            "for the upstream bundle's built-in shape (--channel picks the track; overlays "
            "without BUNDLE go onto charmed-kubernetes). With no arguments, check every bundle "
            "and overlay combination this repository ships."
        ),
        **common,  # type: ignore[arg-type]
    )
    check.add_argument("bundle", nargs="?", help="bundle file, or charmed-kubernetes / kubeflow")
    check.add_argument(
        "--overlay",
        action="append",
        default=[],
        metavar="FILE",
        help="overlay (repeatable, in order)",
    )
    check.add_argument("--channel", help="track of a built-in upstream bundle, e.g. 1.28/stable")
    check.add_argument(
        "--trust", action="store_true", help="the bundle will be deployed with --trust"
    )
    check.add_argument(
        "--site", help="check a site's whole rendered lab instead (layout fit included)"
    )
    check.add_argument("--strict", action="store_true", help="warnings fail too")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.set_defaults(func=cmd_check)

    plan = sub.add_parser(
        "plan",
        help="print what goes where and the juju commands",
        description=(
            "Machine -> applications, relations, storage (classes, pools, PVs), expected GPU "
            "labels, Kubeflow settings and the ordered juju commands. "
            f"Default site: {DEFAULT_SITE}."
        ),
        **common,  # type: ignore[arg-type]
    )
    plan.add_argument("--site", help=f"site file (default: {DEFAULT_SITE})")
    plan.add_argument("--format", choices=("text", "mermaid", "commands"), default="text")
    plan.add_argument(
        "--out", help="where render puts the files the commands use (default build/homelab/SITE)"
    )
    plan.add_argument("--strict", action="store_true", help="warnings fail too")
    plan.add_argument(
        "--juju",
        choices=("3.6", "4.0"),
        default="3.6",
        help="the Juju the commands are for (default 3.6: Charmed Kubeflow supports 3.6 only)",
    )
    plan.set_defaults(func=cmd_plan)

    render = sub.add_parser(
        "render",
        help="render overlays and bundles from a site file",
        description=(
            "Render overlays/*.yaml (for the site's line) and bundles/homelab-<track>.yaml "
            "(both lines) from the package's jinja2 templates."
        ),
        **common,  # type: ignore[arg-type]
    )
    render.add_argument("--site", required=True, help="site file")
    render.add_argument("--out", help="output folder (default build/homelab/SITE)")
    render.set_defaults(func=cmd_render)

    deploy = sub.add_parser(
        "deploy",
        help="render, check and run the juju commands (safe to re-run)",
        description=(
            "Render and check the site, then run the plan's juju commands against the current "
            "controller. Steps whose result exists (model, applications, cloud, pool) are "
            "skipped, so a re-run continues where the last one stopped. Stops at the first "
            "failure and prints its output."
        ),
        **common,  # type: ignore[arg-type]
    )
    deploy.add_argument("--site", required=True, help="site file")
    deploy.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    deploy.add_argument(
        "--new-password",
        action="store_true",
        help="replace the dashboard password (kept across runs otherwise)",
    )
    deploy.add_argument(
        "--out", help="output folder for rendered files (default build/homelab/SITE)"
    )
    deploy.add_argument("--strict", action="store_true", help="warnings stop the deploy too")
    deploy.add_argument(
        "--juju",
        choices=("3.6", "4.0"),
        help="the Juju to write commands for (default: ask `juju version`; 3.6 in --dry-run "
        "when there is no juju client)",
    )
    deploy.set_defaults(func=cmd_deploy)
    build = sub.add_parser(
        "build",
        help="pack the charms with charmcraft into the site's charms.local_dir",
        description=(
            "Stage each charm of this checkout with core/ (homelab-core) and pack it with "
            "`charmcraft pack` into the site's charms.local_dir (relative to the site file), "
            "for `charms.source: local`. Needs charmcraft (sudo snap install charmcraft "
            "--classic) and LXD (sudo snap install lxd && lxd init --auto), or "
            f"--destructive-mode on an Ubuntu host. Default site: {DEFAULT_SITE}."
        ),
        **common,  # type: ignore[arg-type]
    )
    build.add_argument("--site", help=f"site file (default: {DEFAULT_SITE})")
    build.add_argument(
        "--charm", action="append", default=[], metavar="NAME", help="only this charm (repeatable)"
    )
    build.add_argument("--platform", help="one platform, e.g. ubuntu@24.04:amd64 (default: all)")
    build.add_argument(
        "--destructive-mode",
        action="store_true",
        help="pack on this host, without LXD (charmcraft's --destructive-mode)",
    )
    build.add_argument("--out", help="folder for the .charm files (default: charms.local_dir)")
    build.add_argument("--dry-run", action="store_true", help="print the commands, write nothing")
    build.set_defaults(func=cmd_build)
    from homelab.teardown import add_parser as add_teardown  # issue 13

    add_teardown(sub, common)
    from homelab.verify_cli import add_parser as add_verify  # issue 12: homelab verify

    add_verify(sub, common)
    return parser


def main(
    argv: list[str] | None = None, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """Entry point; returns the exit code.

    Results go to `out` (stdout), errors and warnings to `err` (stderr), so
    `homelab plan --format commands > cmds.sh` holds commands only. A caller that gives only
    `out` gets both on it, as a shell's `2>&1` would.
    """
    stream = out or sys.stdout
    errors = err or (out if out is not None else sys.stderr)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(stream)
        return EXIT_USAGE
    args.err = errors
    try:
        return args.func(args, stream)
    except KeyboardInterrupt:
        errors.write("interrupted\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
