"""Command line: `python -m pipeline run [--config FILE.toml] [--data-only]`.

User mistakes (config, input files) end with one clear message and exit status 2; a failing component ends with
its error, the path of the full log and exit status 1.
"""
import argparse
import sys

from pipeline.configs import ConfigError, load_config
from pipeline.inputs import InputError, check_inputs


def cmd_run(args):
    config = load_config(args.config)
    files = check_inputs(config)
    print(f"Input: {len(files)} CSV file(s) in {config.data.input_dir}", flush=True)
    from pipeline import local_runner  # TensorFlow loads here, after the cheap checks passed
    try:
        paths = local_runner.run(config, data_only=args.data_only)
    except Exception as e:  # a component failed: show its error, not the orchestrator's traceback
        print(f"\nPipeline failed: {type(e).__name__}: {e}\nFull log: the newest file in "
              f"{config.pipeline.output_dir}/logs/", file=sys.stderr)
        return 1
    print("\nPipeline finished.")
    print(f"  outputs (pipeline root): {paths['pipeline_root']}")
    print(f"  ML Metadata store:       {paths['metadata']}")
    if not args.data_only:
        print(f"  pushed models:           {paths['serving_model']}")
    print(f"  full log:                {paths['log']}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m pipeline", description="tfx-datacentric pipeline")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the pipeline locally on Beam's DirectRunner")
    run.add_argument("--config", help="TOML file overriding the defaults in pipeline/configs.py")
    run.add_argument("--data-only", action="store_true",
                     help="run only the data stage (ExampleGen through the data-quality checks), no training")
    run.set_defaults(handler=cmd_run)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (ConfigError, InputError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
