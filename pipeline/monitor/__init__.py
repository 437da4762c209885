"""The serving monitor: `python -m pipeline monitor --serving DIR` (README "Serving monitor", monitor.py).

The names it records in ML Metadata, here so that readers of the store (pipeline/lineage.py) need not import it.
"""
EXECUTION_TYPE = "ServingMonitor"  # one execution per monitor run: INPUT events on the Model, OUTPUT on the report
REPORT_TYPE = "MonitorReport"  # its artifact: the report folder, verdicts as custom properties
CONTEXT_TYPE = "model_monitoring"  # one context per monitored model, named "model-<Model id>"


def context_name(model):
    """The `model_monitoring` context of a Model artifact."""
    return f"model-{model.id}"
