"""Fitting other tools: the pre-commit hook, the GitHub Actions example, shell completion, and
a README that documents every command and option."""

from __future__ import annotations

import glob
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from flashcards.cli import main
from tests.helpers import SAMPLE, png_bytes

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent  # where pip put the `flashcards` script


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **extra}


def _project(root: Path, deck: str = SAMPLE) -> Path:
    cards = root / "cards"
    (cards / "img").mkdir(parents=True)
    (cards / "sample.yaml").write_text(deck, encoding="utf-8")
    (cards / "img" / "red.png").write_bytes(png_bytes())
    return root


# --- pre-commit ----------------------------------------------------------------------------


def _hook() -> dict:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert [hook["id"] for hook in hooks] == ["flashcards-check"]
    return hooks[0]


def test_the_hook_checks_the_whole_source_on_yaml_changes():
    hook = _hook()
    assert hook["language"] == "python"
    assert hook["types"] == ["yaml"]
    assert hook["pass_filenames"] is False
    assert shlex.split(hook["entry"])[:2] == ["flashcards", "check"]


def _run_hook(root: Path) -> subprocess.CompletedProcess[str]:
    """Run the hook's command the way pre-commit does: entry + args, in the repository root,
    with no file names, and the hook's environment (where flashcards is installed) on PATH."""
    hook = _hook()
    command = shlex.split(hook["entry"]) + hook.get("args", [])
    return subprocess.run(command, cwd=root, env=_env(), capture_output=True, text=True,
                          check=False)


def test_the_hook_passes_a_valid_repository(tmp_path):
    result = _run_hook(_project(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok: 1 deck file, 5 notes, 7 cards, 0 warnings\n"


def test_the_hook_fails_on_an_invalid_deck(tmp_path):
    result = _run_hook(_project(tmp_path, SAMPLE.replace("level: advanced", "level: expert")))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "cards/sample.yaml:26: card 'hard-one': level 'expert' is not one of basic, "
        "intermediate, advanced, none",
        "1 error in 1 file",
    ]


def test_the_hook_is_strict_about_unpinned_ids(tmp_path):
    result = _run_hook(_project(tmp_path, SAMPLE.replace("  - id: hard-one\n", "  -\n")))
    assert result.returncode == 1
    assert "has no 'id'" in result.stderr


def _readme_block(after: str, language: str) -> str:
    """The first fenced block of a language after a piece of README text."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rest = readme.split(after, 1)[1]
    return re.search(rf"```{language}\n(.*?)\n```", rest, re.DOTALL).group(1)


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          check=True, env=_git_env()).stdout.strip()


def _git_env() -> dict[str, str]:
    return {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
            "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org",
            "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def _this_repository(where: Path) -> Path:
    """This repository's files as they are now, committed on a branch `main` of a repository
    of their own: what a deck repository's configuration points pre-commit at."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (where / name).parent.mkdir(parents=True, exist_ok=True)
            (where / name).write_bytes((ROOT / name).read_bytes())
    _git(where, "init", "-q", "-b", "main")
    _git(where, "add", "-A")
    _git(where, "commit", "-q", "-m", "flashcards")
    return where


def test_the_readme_pre_commit_configuration_works_with_real_pre_commit(tmp_path):
    config = _readme_block("In your deck\nrepository's `.pre-commit-config.yaml`", "yaml")
    repo = yaml.safe_load(config)["repos"][0]
    assert repo["rev"] == "main"  # a branch that exists: we publish no tags
    hooks = _this_repository(tmp_path / "flashcards")
    decks = _project(tmp_path / "decks")
    (decks / ".pre-commit-config.yaml").write_text(
        config.replace(repo["repo"], hooks.as_uri()), encoding="utf-8")
    _git(decks, "init", "-q")
    _git(decks, "add", "-A")
    env = {**_git_env(), "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
           "PATH": os.environ.get("PATH", "")}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "pre_commit", *args], cwd=decks, env=env,
                              capture_output=True, text=True, check=False)

    passed = run("run", "--all-files")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert re.search(r"^flashcards check\.+Passed$", passed.stdout, re.MULTILINE), passed.stdout
    (decks / "cards" / "sample.yaml").write_text(SAMPLE.replace("level: advanced",
                                                                "level: expert"))
    failed = run("run", "--all-files")
    assert failed.returncode == 1
    assert "cards/sample.yaml:26: card 'hard-one': level 'expert' is not one of" in failed.stdout
    # `autoupdate --freeze` (what the README suggests) pins the newest commit's hash.
    frozen = run("autoupdate", "--freeze")
    assert frozen.returncode == 0, frozen.stdout + frozen.stderr
    pinned = yaml.safe_load((decks / ".pre-commit-config.yaml").read_text())["repos"][0]["rev"]
    assert pinned == _git(hooks, "rev-parse", "HEAD")


def test_the_workflow_installs_a_ref_that_exists(tmp_path):
    [line] = [step["run"] for step in _steps() if "pip install" in step.get("run", "")]
    requirement = shlex.split(line)[-1]
    url, ref = requirement.split("git+", 1)[1].rsplit("@", 1)
    assert ref == "main"
    hooks = _this_repository(tmp_path / "flashcards")
    # pip resolves the branch of a local copy and reads the project there (a dry run: nothing
    # is installed). (A PEP 508 file URL needs a host, hence localhost.)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps",
         requirement.replace(url, f"file://localhost{hooks.as_posix()}")],
        capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert re.search(r"Would install flashcards-\S+", result.stdout), result.stdout


# --- GitHub Actions ------------------------------------------------------------------------


def _workflow() -> dict:
    return yaml.safe_load((ROOT / "examples" / "github-actions-release.yml")
                          .read_text(encoding="utf-8"))


def _steps() -> list[dict]:
    return _workflow()["jobs"]["release"]["steps"]


def _flashcards_lines() -> list[str]:
    return [line.strip() for step in _steps() for line in step.get("run", "").splitlines()
            if line.strip().startswith("flashcards ")]


def test_the_workflow_releases_the_packages_on_a_tag_push():
    workflow = _workflow()
    # YAML 1.1 (PyYAML) reads the key `on` as the boolean True; GitHub reads it as "on".
    assert workflow[True]["push"]["tags"] == ["v*"]
    assert workflow["permissions"] == {"contents": "write"}
    uses = [step["uses"].split("@")[0] for step in _steps() if "uses" in step]
    assert uses == ["actions/checkout", "actions/setup-python", "softprops/action-gh-release"]
    release = _steps()[-1]
    assert release["with"]["files"] == "build/*.apkg"
    assert any("pip install" in step.get("run", "") for step in _steps())


def test_the_workflow_uses_commands_and_options_that_exist(runner):
    lines = _flashcards_lines()
    assert [shlex.split(line)[1] for line in lines] == ["check", "build"]
    for line in lines:
        words = shlex.split(line)
        assert words[1] in main.commands
        # Click refuses an unknown option before it gets to --help.
        assert runner.invoke(main, [*words[1:], "--help"]).exit_code == 0, line


def test_the_workflow_steps_build_what_the_release_uploads(tmp_path):
    root = _project(tmp_path)
    for line in _flashcards_lines():
        result = subprocess.run(["bash", "-ec", line], cwd=root, env=_env(),
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0, (line, result.stderr)
    pattern = _steps()[-1]["with"]["files"]
    uploaded = sorted(Path(p).name for p in glob.glob(pattern, root_dir=root))
    assert uploaded == ["sample-deck-advanced.apkg", "sample-deck-all.apkg",
                        "sample-deck-basic.apkg"]


# --- shell completion ----------------------------------------------------------------------


@pytest.mark.parametrize(("shell", "marker"), [
    ("bash", "complete -o nosort -F _flashcards_completion flashcards"),
    ("zsh", "#compdef flashcards"),
    ("fish", "complete --no-files --command flashcards"),
])
def test_completion_script_is_printed(shell, marker):
    result = subprocess.run(["flashcards"], env=_env(_FLASHCARDS_COMPLETE=f"{shell}_source"),
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert marker in result.stdout


def test_bash_completion_completes_commands_and_options():
    # What the README tells bash users to do, then a Tab after "flashcards i" and "stats --m".
    script = (
        'eval "$(_FLASHCARDS_COMPLETE=bash_source flashcards)"\n'
        "COMP_WORDS=(flashcards i); COMP_CWORD=1; _flashcards_completion flashcards\n"
        'echo "${COMPREPLY[*]}"; COMPREPLY=()\n'
        "COMP_WORDS=(flashcards stats --m); COMP_CWORD=2; _flashcards_completion flashcards\n"
        'echo "${COMPREPLY[*]}"\n'
    )
    result = subprocess.run(["bash", "-c", script], env=_env(), capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["ids import init", "--max-words"]


# --- the README ----------------------------------------------------------------------------


def test_readme_documents_every_command_and_option():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    headings = re.findall(r"^### `flashcards (\w+)(.*)`$", readme, flags=re.MULTILINE)
    documented = dict(headings)
    assert set(documented) == set(main.commands)
    # --color/--no-color belong to every command; "On a terminal" documents them once.
    everywhere = {"--color", "--no-color"}
    assert "`--color` or `--no-color` (accepted by `flashcards` itself and by every command" \
        in readme
    for name, command in main.commands.items():
        assert everywhere <= {f for p in command.params for f in (*p.opts, *p.secondary_opts)}
        for param in command.params:
            for flag in (*param.opts, *param.secondary_opts):
                if flag.startswith("-") and flag not in ("-h", "--help", *everywhere):
                    assert flag in documented[name], f"{name}: {flag} is not in the README"


def test_readme_shows_the_completion_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for shell in ("bash", "zsh", "fish"):
        assert f"_FLASHCARDS_COMPLETE={shell}_source flashcards" in readme
