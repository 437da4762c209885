"""Lineage trees from ML Metadata: a model's upstream (what data, code and decisions made it), the serving-monitor
runs that watched it, and a data version's downstream (what was made from it, which models). `python -m pipeline lineage` prints what these functions return.
"""
import json

from pipeline import monitor
from pipeline.mlmd_graph import LineageError, decode, format_time, is_external


def _describe_execution(graph, execution):
    return f"{graph.component(execution)} (execution #{execution.id}, {format_time(execution.create_time_since_epoch)})"


def _new_properties(graph, artifact, execution):
    """The artifact's properties that its producer set or changed: those not equal on any input of the same type,
    so provenance copied along the chain is printed once, where it was recorded."""
    props = graph.properties(artifact)
    if execution is None:
        return props
    same_type = [a for _, a in graph.inputs(execution) if a.type_id == artifact.type_id]
    inherited = {}
    for parent in same_type:
        inherited.update(graph.properties(parent))
    return {k: v for k, v in props.items() if inherited.get(k, object()) != v}


def _format_value(value, width=100):
    text = value if isinstance(value, str) else json.dumps(value, separators=(", ", ": "), sort_keys=True)
    return text if len(text) <= width else text[:width - 3] + "..."


def upstream_lines(graph, artifact, key="", indent="", seen=None):
    """Lines of the upstream tree of `artifact`: each artifact, the execution that made it, what that execution
    recorded, then its inputs, down to ExampleGen's source. An artifact already printed is referred to, not
    repeated."""
    seen = set() if seen is None else seen
    execution, _ = graph.producer(artifact)
    label = f"{indent}{key + ': ' if key else ''}{graph.type_name(artifact)} #{artifact.id}"
    if artifact.id in seen:
        return [f"{label} (shown above)"]
    seen.add(artifact.id)
    lines = [label + (f"  <- {_describe_execution(graph, execution)}" if execution else "")]
    detail = indent + "    "
    if graph.type_name(artifact) == "PushedModel" or is_external(artifact):  # imported files, e.g. corrections
        lines.append(f"{detail}uri: {artifact.uri}")
    for name, value in _new_properties(graph, artifact, execution).items():
        lines.append(f"{detail}{name}: {_format_value(value)}")
    if execution is None:
        return lines
    parents = graph.inputs(execution)
    if not parents and "input_base" in execution.custom_properties:
        lines.append(f"{detail}source: {decode(execution.custom_properties['input_base'])} "
                     f"(input_base of {graph.component(execution)})")
    for parent_key, parent in parents:
        lines += upstream_lines(graph, parent, parent_key, indent + "  ", seen)
    return lines


def downstream_lines(graph, artifact, indent="", seen=None, models=None):
    """Lines of the downstream tree of `artifact`: the executions that read it and what they made; the Model
    artifacts met on the way are added to `models`."""
    seen = set() if seen is None else seen
    models = [] if models is None else models
    lines = []
    for execution in graph.consumers(artifact):
        if execution.id in seen:
            lines.append(f"{indent}-> {_describe_execution(graph, execution)} (shown above)")
            continue
        seen.add(execution.id)
        lines.append(f"{indent}-> {_describe_execution(graph, execution)}")
        for key, output in graph.outputs(execution):
            lines.append(f"{indent}     {key}: {graph.type_name(output)} #{output.id}")
            if graph.type_name(output) == "Model":
                models.append(output)
            lines += downstream_lines(graph, output, indent + "       ", seen, models)
    return lines


def find_model(graph, model):
    """The Model (or PushedModel) artifact named by `model`: 'latest' or an artifact id."""
    if model == "latest":
        models = graph.store.get_artifacts_by_type("Model")
        if not models:
            raise LineageError("the ML Metadata store holds no model; run the pipeline with training first")
        return max(models, key=lambda a: a.id)
    if not str(model).isdigit():
        raise LineageError(f"--model must be 'latest' or an artifact id (a number), got {model!r}")
    artifact = graph.artifact(int(model))
    if graph.type_name(artifact) not in ("Model", "PushedModel"):
        raise LineageError(f"artifact {model} is a {graph.type_name(artifact)}, not a Model or PushedModel")
    return artifact


def model_fate(graph, model):
    """[(what, artifact)] downstream of a Model: its blessing and whether Pusher pushed it."""
    fate = []
    for execution in graph.consumers(model):
        for key, output in graph.outputs(execution):
            if graph.type_name(output) in ("ModelBlessing", "PushedModel"):
                fate.append((f"{graph.component(execution)} #{execution.id} {key}", output))
    return fate


def monitor_lines(graph, model):
    """One line per serving-monitor run that watched `model` (python -m pipeline monitor), oldest first."""
    lines = []
    for execution in graph.consumers(model):
        reports = [a for _, a in graph.outputs(execution) if graph.type_name(a) == monitor.REPORT_TYPE]
        if graph.component(execution) != monitor.EXECUTION_TYPE or not reports:
            continue
        found = {k: decode(v) for k, v in reports[0].custom_properties.items()}
        beyond = ", ".join(found.get("beyond_thresholds") or []) or "nothing"
        served = decode(execution.custom_properties["serving"]) if "serving" in execution.custom_properties else "?"
        lines.append(f"  {_describe_execution(graph, execution)}: {found.get('verdict')} (beyond thresholds: "
                     f"{beyond}) on {found.get('serving_rows')} rows of {served}; report: {reports[0].uri}")
    return lines


def model_lineage(graph, model="latest"):
    """The report of `python -m pipeline lineage --model`: the model, its blessing and push, its upstream tree."""
    artifact = find_model(graph, model)
    lines = [f"Lineage of {graph.type_name(artifact)} #{artifact.id} ({artifact.uri})"]
    if graph.type_name(artifact) == "Model":
        for what, output in model_fate(graph, artifact):
            flag = "blessed" if graph.type_name(output) == "ModelBlessing" else "pushed"
            value = decode(output.custom_properties[flag]) if flag in output.custom_properties else None
            where = f" to {decode(output.custom_properties['pushed_destination'])}" \
                if value and "pushed_destination" in output.custom_properties else ""
            lines.append(f"  {what}: {graph.type_name(output)} #{output.id}, {flag}: "
                         f"{'yes' if value else 'no'}{where}")
    watched = monitor_lines(graph, artifact)
    if watched:
        lines += ["Watched by the serving monitor:"] + watched
    lines.append("Upstream (each artifact <- the execution that made it; indented lines are its inputs):")
    lines += upstream_lines(graph, artifact, indent="  ")
    return "\n".join(lines)


def find_data(graph, version):
    """Examples artifacts whose data version starts with `version`, oldest first."""
    found = [a for a in graph.store.get_artifacts_by_type("Examples")
             if "data_version" in a.custom_properties
             and decode(a.custom_properties["data_version"]).startswith(version)]
    if not found:
        known = sorted({decode(a.custom_properties["data_version"])
                        for a in graph.store.get_artifacts_by_type("Examples")
                        if "data_version" in a.custom_properties})
        raise LineageError(f"no Examples artifact has data version {version!r}; known versions: "
                           f"{', '.join(known) or 'none (no run has recorded provenance yet)'}")
    return sorted(found, key=lambda a: a.id)


def data_lineage(graph, version):
    """The report of `python -m pipeline lineage --data`: what was made from a data version, and which models."""
    lines = []
    for examples in find_data(graph, version):
        execution, _ = graph.producer(examples)
        lines.append(f"Downstream of data version {decode(examples.custom_properties['data_version'])}: "
                     f"Examples #{examples.id}" + (f" <- {_describe_execution(graph, execution)}" if execution else ""))
        models = []
        lines += downstream_lines(graph, examples, indent="  ", models=models)
        lines.append(f"  Models trained on it: {', '.join(f'Model #{m.id}' for m in models) or 'none'}")
    return "\n".join(lines)
