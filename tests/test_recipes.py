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
    assert result.stdout == "ok: 1 deck file(s), 5 card(s), 0 warning(s)\n"


def test_the_hook_fails_on_an_invalid_deck(tmp_path):
    result = _run_hook(_project(tmp_path, SAMPLE.replace("level: advanced", "level: expert")))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "cards/sample.yaml:26: card 'hard-one': level 'expert' is not one of basic, "
        "intermediate, advanced",
        "1 error in 1 file",
    ]


def test_the_hook_is_strict_about_unpinned_ids(tmp_path):
    result = _run_hook(_project(tmp_path, SAMPLE.replace("  - id: hard-one\n", "  -\n")))
    assert result.returncode == 1
    assert "has no 'id'" in result.stderr


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
    for name, command in main.commands.items():
        for param in command.params:
            for flag in (*param.opts, *param.secondary_opts):
                if flag.startswith("-") and flag not in ("-h", "--help"):
                    assert flag in documented[name], f"{name}: {flag} is not in the README"


def test_readme_shows_the_completion_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for shell in ("bash", "zsh", "fish"):
        assert f"_FLASHCARDS_COMPLETE={shell}_source flashcards" in readme
