"""`python -m pipeline new-component NAME`: writes components/NAME/ in the house shape from the templates beside
this file, and registers its artifact type in components/__init__.py.

The templates are a working component (label counts per split, with Wilson intervals), so what the command writes
runs, is tested and compiles for Kubeflow before the user changes a line; tests/test_scaffold.py checks that, in a
copy of the project, on every test run, so the templates follow the real components.
"""
import keyword
import os
import re
import string

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# Template file -> the file it becomes in components/NAME/.
FILES = {name: name.removesuffix(".tmpl") for name in (
    "__init__.py.tmpl", "contract.py.tmpl", "component.py.tmpl", "executor.py.tmpl", "counts.py.tmpl", "README.md.tmpl",
    "counts_test.py.tmpl", "executor_test.py.tmpl", "component_test.py.tmpl")}
NAME_PATTERN = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")
REGISTRY = re.compile(r"^_ARTIFACT_TYPES = \{\n(?:    .*\n)*?\}", re.MULTILINE)


class ScaffoldError(ValueError):
    """A NAME that cannot become a component; the message says why and what to do."""


def class_name(name):
    return "".join(part.capitalize() for part in name.split("_"))


def check_name(name, components_dir):
    if not NAME_PATTERN.fullmatch(name):
        raise ScaffoldError(f"component name {name!r} must be snake_case: lower-case letters, digits and single "
                            f"underscores, starting with a letter (e.g. label_balance)")
    if keyword.iskeyword(name):
        raise ScaffoldError(f"component name {name!r} is a Python keyword; choose another")
    for taken in (os.path.join(components_dir, name), os.path.join(components_dir, name + ".py")):
        if os.path.exists(taken):
            raise ScaffoldError(f"{taken} already exists; choose another name or remove it first")
    registry = _read(os.path.join(components_dir, "__init__.py"))
    for artifact in (class_name(name), class_name(name) + "Result"):
        if re.search(rf'^    "{artifact}": ', registry, re.MULTILINE):
            raise ScaffoldError(f"components/__init__.py already registers an artifact type {artifact!r}; "
                                f"choose another name")


def new_component(name, project=PROJECT, summary=None):
    """Writes components/<name>/ under `project` and registers its artifact type; returns the paths written."""
    components_dir = os.path.join(project, "components")
    check_name(name, components_dir)
    registry_path = os.path.join(components_dir, "__init__.py")
    registry = _read(registry_path)
    if not REGISTRY.search(registry):
        raise ScaffoldError(f"{registry_path} has no `_ARTIFACT_TYPES = {{...}}` table to register the new artifact "
                            f"type in")
    values = {"name": name, "Class": class_name(name), "Artifact": class_name(name) + "Result",
              "summary": summary or "counts each label per split, with the share of the split and its 95% interval."}
    folder = os.path.join(components_dir, name)
    os.makedirs(folder)
    written = []
    for template, target in FILES.items():
        path = os.path.join(folder, target)
        with open(path, "w") as f:
            f.write(string.Template(_read(os.path.join(TEMPLATES, template))).substitute(values))
        written.append(path)
    entry = f'    "{values["Artifact"]}": "components.{name}.component",\n'
    with open(registry_path, "w") as f:
        f.write(REGISTRY.sub(lambda m: m.group(0)[:-1] + entry + "}", registry, count=1))
    return written + [registry_path]


def _read(path):
    with open(path) as f:
        return f.read()
