"""environment.yml (for conda users) must ask for what pyproject.toml asks for."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml
from packaging.requirements import InvalidRequirement, Requirement

ROOT = Path(__file__).resolve().parents[1]

# What environment.yml may hold besides pyproject's requirements: the interpreter,
# pip itself and the project, installed from the working tree.
ALLOWED_CONDA = {"python", "pip"}
PROJECT_LINE = re.compile(r"^(-e\s+)?\.(\[[\w,\s-]*\])?$")


def _normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _parse(line, where):
    try:
        requirement = Requirement(line)
    except InvalidRequirement as error:
        pytest.fail(f"{where}: cannot parse requirement {line!r}: {error}")
    return _normalise(requirement.name), requirement


def _pyproject_requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project.get("optional-dependencies", {})
    groups = {"dependencies": project["dependencies"]}
    for extra in ("book", "dev"):
        assert extra in extras, f"pyproject.toml has no [{extra}] extra"
        groups[f"extra [{extra}]"] = extras[extra]
    wanted = {}
    for group, lines in groups.items():
        for line in lines:
            name, requirement = _parse(line, f"pyproject.toml {group}")
            if name in wanted and wanted[name][1].specifier != requirement.specifier:
                pytest.fail(
                    f"pyproject.toml asks for {name} twice with different versions: "
                    f"{wanted[name][1]} ({wanted[name][0]}) and {requirement} ({group})"
                )
            wanted.setdefault(name, (group, requirement))
    return wanted


def _environment():
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def _environment_pip_requirements():
    pip_lines = []
    for entry in _environment()["dependencies"]:
        if isinstance(entry, dict):
            pip_lines.extend(entry.get("pip", []))
    found, project_lines = {}, []
    for line in pip_lines:
        line = str(line).strip()
        if PROJECT_LINE.match(line):
            project_lines.append(line)
            continue
        name, requirement = _parse(line, "environment.yml pip")
        assert name not in found, f"environment.yml lists {name} twice under pip"
        found[name] = requirement
    return found, project_lines


def test_environment_has_the_expected_name_and_conda_packages():
    environment = _environment()
    assert environment.get("name") == "deep-steganography"
    conda = [entry for entry in environment["dependencies"] if isinstance(entry, str)]
    names = {re.split(r"[=<>!~ ]", entry, maxsplit=1)[0] for entry in conda}
    assert names == ALLOWED_CONDA, (
        f"environment.yml's conda packages should be exactly {sorted(ALLOWED_CONDA)}, "
        f"found {sorted(names)}: put everything else under pip, as pyproject.toml does"
    )
    assert "python=3.11" in conda, f"environment.yml should pin python=3.11, found {conda}"


def test_environment_installs_the_project_itself():
    _, project_lines = _environment_pip_requirements()
    assert project_lines, "environment.yml should install the project itself (- -e .)"


def test_every_pyproject_requirement_is_in_environment_with_the_same_versions():
    wanted = _pyproject_requirements()
    found, _ = _environment_pip_requirements()
    problems = []
    for name, (group, requirement) in sorted(wanted.items()):
        if name not in found:
            problems.append(f"{name}: pyproject.toml ({group}) has {requirement}, "
                            "environment.yml does not list it")
        elif found[name].specifier != requirement.specifier:
            problems.append(
                f"{name}: pyproject.toml ({group}) asks for "
                f"'{requirement.specifier or 'any version'}', environment.yml for "
                f"'{found[name].specifier or 'any version'}'"
            )
    assert not problems, "environment.yml disagrees with pyproject.toml:\n" + "\n".join(problems)


def test_environment_lists_nothing_that_pyproject_does_not():
    wanted = _pyproject_requirements()
    found, _ = _environment_pip_requirements()
    extra = sorted(str(found[name]) for name in set(found) - set(wanted))
    assert not extra, (
        f"environment.yml asks for {extra}, which pyproject.toml does not: "
        "add them to pyproject.toml (dependencies or an extra) or remove them"
    )


def test_dev_extra_includes_everything_the_book_needs():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]
    book = {_parse(line, "[book]")[0]: str(Requirement(line).specifier) for line in extras["book"]}
    dev = {_parse(line, "[dev]")[0]: str(Requirement(line).specifier) for line in extras["dev"]}
    missing = {name: spec for name, spec in book.items() if dev.get(name) != spec}
    assert not missing, (
        "the [dev] extra should repeat every [book] requirement with the same versions "
        f"(make test builds the book); missing or different: {missing}"
    )
