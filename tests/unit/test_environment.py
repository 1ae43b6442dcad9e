"""requirements.txt and environment.yml describe the same environment, and this one provides it."""
import importlib
import importlib.metadata
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "requirements.txt"
ENVIRONMENT = REPO / "environment.yml"
NOT_PACKAGES = {"python", "pip"}  # conda-only entries of environment.yml
# distribution name -> module to import, where they differ
MODULES = {"pyyaml": "yaml", "pytest-xdist": "xdist", "jupyterlab": "jupyterlab", "notebook": "notebook",
           "scikit-learn": "sklearn", "pillow": "PIL", "ipython": "IPython", "beautifulsoup4": "bs4",
           "pyzmq": "zmq", "psycopg2-binary": "psycopg2", "dask-jobqueue": "dask_jobqueue"}
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*(.*?)\s*$")


def normalise(name):
    """PEP 503 style: lowercase, runs of -, _ and . become one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_requirement(text, where):
    """'numpy >= 2.0, <3' -> ('numpy', frozenset({'>=2.0', '<3'}))."""
    match = _REQUIREMENT.match(text.split(";")[0])
    assert match, f"{where}: cannot parse the requirement {text!r}"
    name, spec = match.groups()
    clauses = frozenset(clause.replace(" ", "") for clause in spec.split(",") if clause.strip())
    return normalise(name), clauses


def requirements_txt():
    """{normalised name: specifier clauses} of requirements.txt."""
    found = {}
    for number, line in enumerate(REQUIREMENTS.read_text().splitlines(), start=1):
        line = line.split("#")[0].strip()
        if not line:
            continue
        name, spec = parse_requirement(line, f"requirements.txt line {number}")
        assert name not in found, f"requirements.txt names {name} twice"
        found[name] = spec
    return found


def environment_yml():
    """{normalised name: specifier clauses} of environment.yml's dependencies (pip: entries included)."""
    environment = yaml.safe_load(ENVIRONMENT.read_text())
    found = {}
    for dependency in environment.get("dependencies", []):
        entries = dependency.get("pip", []) if isinstance(dependency, dict) else [dependency]
        for entry in entries:
            name, spec = parse_requirement(str(entry), "environment.yml")
            if name in NOT_PACKAGES:
                continue
            assert name not in found, f"environment.yml names {name} twice"
            found[name] = spec
    return found


def show(specs):
    return {name: ",".join(sorted(clauses)) for name, clauses in sorted(specs.items())}


def test_requirements_and_environment_name_the_same_packages_and_versions():
    pip, conda = requirements_txt(), environment_yml()
    assert pip, "requirements.txt should name packages, found none"
    only_pip, only_conda = sorted(set(pip) - set(conda)), sorted(set(conda) - set(pip))
    assert not only_pip and not only_conda, (
        f"requirements.txt and environment.yml should name the same packages; only in requirements.txt: "
        f"{only_pip}, only in environment.yml: {only_conda}")
    differing = {name: {"requirements.txt": show({name: pip[name]})[name],
                        "environment.yml": show({name: conda[name]})[name]}
                 for name in pip if pip[name] != conda[name]}
    assert not differing, f"version specifiers should agree; they differ for {differing}"


@pytest.mark.parametrize("name", sorted(requirements_txt()))
def test_required_package_is_importable(name):
    module = MODULES.get(name, name.replace("-", "_"))
    try:
        importlib.import_module(module)
    except ImportError as error:
        pytest.fail(f"{name} from requirements.txt should be importable as {module!r} here, "
                    f"got {type(error).__name__}: {error}", pytrace=False)


@pytest.mark.parametrize("name", sorted(requirements_txt()))
def test_installed_version_satisfies_requirements(name):
    specifiers = pytest.importorskip("packaging.specifiers")
    clauses = requirements_txt()[name]
    try:
        installed = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(f"{name} from requirements.txt should be installed, no distribution found", pytrace=False)
    wanted = specifiers.SpecifierSet(",".join(sorted(clauses)))
    assert wanted.contains(installed, prereleases=True), \
        f"{name}: requirements.txt asks for {wanted}, installed is {installed}"
