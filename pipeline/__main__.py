"""Command line: `python -m pipeline run [--config FILE.toml] [--data-only]`.
`python -m pipeline compile --target kubeflow [--output FILE] [--config FILE.toml]`.
`python -m pipeline lineage [--model latest|ID] [--data VERSION] [--config FILE.toml]`.
`python -m pipeline runs [--format table|json] [--config FILE.toml]`.
`python -m pipeline report [--run latest|ID] [--output FILE.html] [--config FILE.toml]`: the run report, rebuilt.
`python -m pipeline new-component NAME`: writes components/NAME/ in the house shape (README "Add your own component").
`python -m pipeline monitor --serving DIR [--model latest|ID] [--config FILE.toml]`: exit 1 when drift or skew is
beyond thresholds.

User mistakes (config, input files) end with one clear message and exit status 2; a failing component ends with
its error, the path of the full log and exit status 1.
"""
import argparse
import json
import os
import sys
import traceback
import warnings

from pipeline import kubeflow_runner
from pipeline.configs import ConfigError, load_config, metadata_path
from pipeline import lineage, mlmd_graph, scaffold
from pipeline import run_log
from pipeline.inputs import InputError, check_inputs, check_output_dir

# Google client libraries warn at import about future Python and storage versions: nothing a CLI user can act on.
warnings.filterwarnings("ignore", message="You are using a Python version", category=FutureWarning)
warnings.filterwarnings("ignore", message="Support for google-cloud-storage", category=FutureWarning)
run_log.warnings_to_logging()  # any other warning: to the run's log, never the console


def cmd_run(args):
    config = load_config(args.config)
    if args.span is not None:  # the command line wins over [data] span
        config.data.span = args.span
        config.validate("--span")
    checked = check_inputs(config, data_only=args.data_only)
    check_output_dir(config)
    rows = f", {checked.rows} rows" if checked.files else ""
    print(f"Input: {len(checked.files)} file(s){rows} in {config.data.input_dir}", flush=True)
    for note in checked.notes:
        print(note, flush=True)
    log_path = run_log.new_log_path(config.pipeline.output_dir)
    try:
        with run_log.console_to_log(log_path):  # TensorFlow's C++ lines and warnings go to the log, not the console
            from pipeline import local_runner  # TensorFlow loads here, after the cheap checks passed
            paths = local_runner.run(config, data_only=args.data_only, log_path=log_path)
    except ConfigError:  # a file the config names, read as the pipeline is built
        raise
    except Exception as failed:  # show the component's error, not the orchestrator's traceback
        error = failed.__cause__ if type(failed).__name__ == "PipelineFailed" else failed
        if error is failed:  # not from a component: the trace is not in the log yet
            with open(log_path, "a") as log:
                traceback.print_exception(failed, file=log)
        print(f"\nPipeline failed: {type(error).__name__}: {error}\nFull log: {log_path}", file=sys.stderr)
        _print_report(config)
        return 2 if isinstance(error, InputError) else 1
    print("\nPipeline finished.")
    print(f"  outputs (pipeline root): {paths['pipeline_root']}")
    print(f"  ML Metadata store:       {paths['metadata']}")
    if not args.data_only:
        print(f"  pushed models:           {paths['serving_model']}")
    print(f"  full log:                {paths['log']}")
    return 0 if _print_report(config) else 1


def _print_report(config):
    """Writes the newest run's report (pipeline/report) and prints where; False when it could not be built."""
    from pipeline import report
    try:
        paths = report.write_for_config(config)
    except Exception as e:  # the run's outcome stands; say plainly that its report is missing
        print(f"  run report: not written: {type(e).__name__}: {e}", file=sys.stderr)
        return False
    print(f"  run report:              {paths['html']}\n  (facts: {os.path.basename(paths['json'])}, "
          f"data card: {os.path.basename(paths['data_card'])}, beside it)")
    for warning in paths["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    return True


def cmd_compile(args):
    """Compiles the pipeline for an orchestrator without running it; the checks run before TensorFlow loads."""
    config = load_config(args.config)
    for warning in kubeflow_runner.check(config, args.config or "the configuration"):
        print(f"warning: {warning}", file=sys.stderr, flush=True)
    output = args.output or kubeflow_runner.default_output(config)
    print(f"Compiling for Kubeflow Pipelines v2 (Beam profile {config.kubeflow.beam_profile}) ...", flush=True)
    pipeline = kubeflow_runner.compile_pipeline(config, output, data_only=args.data_only)
    print(f"Compiled {len(pipeline.components)} components: {output}\n  image: {config.kubeflow.image}\n"
          f"  pipeline root: {config.kubeflow.pipeline_root}\nSubmit it as docs/kubeflow.md describes.")
    return 0


def _graph(args):
    return mlmd_graph.Graph(mlmd_graph.open_store(metadata_path(load_config(args.config))))


def cmd_lineage(args):
    """Upstream of a model, or downstream of a data version, from ML Metadata's events."""
    graph = _graph(args)
    print(lineage.data_lineage(graph, args.data) if args.data else lineage.model_lineage(graph, args.model))
    return 0


def cmd_runs(args):
    """The ledger: one row per pipeline run."""
    from pipeline import ledger  # no TensorFlow: contracts from components/*/contract.py, metrics via tfma_metrics
    rows = ledger.ledger(_graph(args))
    print(json.dumps(rows, indent=2) if args.format == "json" else ledger.format_ledger(rows))
    return 0


def cmd_report(args):
    """The run report of any past run, rebuilt from ML Metadata and the artifacts alone."""
    from pipeline import report
    paths = report.write_for_config(load_config(args.config), args.run, args.output)
    print(f"Run report: {paths['html']}\n  facts:     {paths['json']}\n  data card: {paths['data_card']}")
    for warning in paths["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    return 0


def cmd_monitor(args):
    """Serving data against the model's training data (found through ML Metadata), and the model run on it."""
    from pipeline.monitor import preflight
    config = load_config(args.config)
    plan = preflight.plan(config, args.serving, args.model)  # input errors end here, before Beam and TensorFlow load
    print(f"Monitor: Model #{plan.sources.model.id} against {len(plan.layout.files)} serving file(s) in "
          f"{args.serving}" + ("" if plan.layout.has_label else " (no label column: accuracy is estimated)"),
          flush=True)
    from pipeline.monitor import monitor, report
    result, out_dir = monitor.run(plan)
    print("\n".join(report.console_lines(result)))
    beyond = ", ".join(result["beyond_thresholds"]) or "nothing"
    print(f"\nVerdict: {result['verdict']}; beyond thresholds: {beyond}.\nReport: {out_dir}/{report.SUMMARY_FILE}")
    return result["exit_status"]


def cmd_new_component(args):
    """Writes components/NAME/ from pipeline/scaffold/templates and registers its artifact type."""
    written = scaffold.new_component(args.name)
    print(f"Wrote {len(written) - 1} files in components/{args.name}/ and registered its artifact type in "
          f"components/__init__.py.\nNext:\n  .venv/bin/python -m pytest components/{args.name} -q\n"
          f"  add to your config: [pipeline] extra_components = [\"components.{args.name}.component.from_config\"]")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m pipeline", description="tfx-datacentric pipeline")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the pipeline locally on Beam's DirectRunner")
    run.add_argument("--config", help="TOML file overriding the defaults in pipeline/configs.py")
    run.add_argument("--span", type=int, metavar="N",
                     help="read span N (overrides [data] span; 0 = the latest); e.g. --span 1 for the demo's span "
                          "with the planted label problems")
    run.add_argument("--data-only", action="store_true",
                     help="run only the data stage (ExampleGen through the data-quality checks), no training")
    run.set_defaults(handler=cmd_run)
    compile_ = commands.add_parser("compile", help="compile the pipeline for Kubeflow Pipelines v2 (no cluster)")
    compile_.add_argument("--target", required=True, choices=kubeflow_runner.TARGETS, help="the orchestrator")
    compile_.add_argument("--output", help="the PipelineJob JSON to write; default <output_dir>/kubeflow/<name>.json")
    compile_.add_argument("--config", help="TOML file overriding the defaults in pipeline/configs.py")
    compile_.add_argument("--data-only", action="store_true", help="compile only the data stage, no training")
    compile_.set_defaults(handler=cmd_compile)
    lineage_ = commands.add_parser("lineage", help="print a model's upstream lineage, or what used a data version")
    lineage_.add_argument("--model", default="latest", help="'latest' (default) or a Model/PushedModel artifact id")
    lineage_.add_argument("--data", metavar="VERSION", help="a data version (or its prefix): print what used it")
    lineage_.add_argument("--config", help="TOML file of the run; its ML Metadata store is read")
    lineage_.set_defaults(handler=cmd_lineage)
    runs = commands.add_parser("runs", help="print the ledger: one row per pipeline run")
    runs.add_argument("--format", choices=("table", "json"), default="table")
    runs.add_argument("--config", help="TOML file of the run; its ML Metadata store is read")
    runs.set_defaults(handler=cmd_runs)
    report = commands.add_parser("report", help="write a run's report (HTML page, JSON facts, data card) from ML "
                                                "Metadata and the artifacts")
    report.add_argument("--run", default="latest", help="'latest' (default) or a run id (python -m pipeline runs)")
    report.add_argument("--output", metavar="FILE.html",
                        help="the page to write (the .json and .data_card.md go beside it); default "
                             "<output_dir>/reports/<run id>.html")
    report.add_argument("--config", help="TOML file of the run; its ML Metadata store is read")
    report.set_defaults(handler=cmd_report)
    monitor = commands.add_parser("monitor", help="compare serving data with the model's training data and run the "
                                                  "model on it; exit 1 when drift or skew is beyond thresholds")
    monitor.add_argument("--serving", required=True, metavar="DIR",
                         help="folder of CSV or Parquet files: the model's features, optionally the label")
    monitor.add_argument("--model", default="latest", help="'latest' (default) or a Model/PushedModel artifact id")
    monitor.add_argument("--config", help="TOML file of the run that trained the model; its ML Metadata store is "
                                          "read, and the monitor's report goes under its output_dir")
    monitor.set_defaults(handler=cmd_monitor)
    new_component = commands.add_parser("new-component", help="write components/NAME/: a working component in the "
                                                              "house shape, with its tests, to change")
    new_component.add_argument("name", metavar="NAME", help="snake_case, e.g. label_balance")
    new_component.set_defaults(handler=cmd_new_component)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ConfigError, InputError, mlmd_graph.LineageError, scaffold.ScaffoldError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
