"""What a component tells the person running it, one way in every component: each line goes to the console (the
local runner shows it under the component's progress line) and to the log (absl, so the run's log file and a
Kubeflow pod's log hold it too), prefixed with the component's name. A component says what it starts on, then what
it found and where it wrote it."""
import sys

from absl import logging


def say(component, message):
    logging.info("%s: %s", component, message)
    print(f"{component}: {message}", file=sys.stdout, flush=True)


def warn(component, message):
    logging.warning("%s: %s", component, message)
    print(f"{component}: {message}", file=sys.stdout, flush=True)
