"""Drift executor: reads one split of the two ExampleStatistics, compares them (measures.py), writes drift.json and
summary.md, sets the custom properties and applies the gate. The comparison reads statistics only, never the
examples, so it costs milliseconds at any data size: no Beam pipeline is needed."""
import json
import os
import sys

from absl import logging
from tfx.components.statistics_gen import stats_artifact_utils
from tfx.dsl.components.base import base_executor
from tfx.dsl.io import fileio
from tfx.types import artifact_utils

from components.drift import contract, measures, report


class DriftGateError(RuntimeError):
    """on_drift = "fail" and a feature drifted: the run stops before Transform."""


def _split_statistics(artifact, split, role):
    splits = artifact_utils.decode_split_names(artifact.split_names)
    if split not in splits:
        raise ValueError(f"Drift: the {role} statistics have no split {split!r} ([drift] split); they have "
                         f"{', '.join(splits)}")
    return stats_artifact_utils.load_statistics(artifact, split).proto().datasets[0]


class Executor(base_executor.BaseExecutor):

    def Do(self, input_dict, output_dict, exec_properties):
        current = artifact_utils.get_single_instance(input_dict["statistics"])
        baseline = artifact_utils.get_single_instance(input_dict["baseline_statistics"])
        output = artifact_utils.get_single_instance(output_dict["drift"])
        split = exec_properties["split"]
        thresholds = measures.DriftThresholds(**json.loads(exec_properties["thresholds"]))
        comparisons = measures.compare_statistics(
            _split_statistics(baseline, split, "baseline"), _split_statistics(current, split, "current"),
            thresholds, label_column=exec_properties["label_column"],
            exclude=tuple(json.loads(exec_properties["exclude"])))
        current_span, baseline_span = current.span, exec_properties["baseline_span"]
        result = report.build(comparisons, current_span, baseline_span, split, thresholds)
        fileio.makedirs(output.uri)  # on Kubeflow the output folder does not exist yet
        summary_path = os.path.join(output.uri, contract.SUMMARY_FILE)
        with fileio.open(os.path.join(output.uri, contract.DRIFT_FILE), "w") as f:
            f.write(json.dumps(result, indent=2))
        with fileio.open(summary_path, "w") as f:
            f.write(report.summary_markdown(result))
        label = [c.verdict for c in comparisons if c.is_label]
        output.set_string_custom_property(contract.VERDICT, result["verdict"])
        output.set_string_custom_property(contract.DRIFTED_FEATURES, json.dumps(result["drifted_features"]))
        output.set_string_custom_property(contract.POSSIBLE_DRIFT_FEATURES,
                                          json.dumps(result["possible_drift_features"]))
        output.set_string_custom_property(contract.LABEL_VERDICT, label[0] if label else "")
        output.set_int_custom_property(contract.CURRENT_SPAN, current_span)
        output.set_int_custom_property(contract.BASELINE_SPAN, baseline_span)
        print(f"Drift: span {current_span} against span {baseline_span}: {result['verdict']}"
              + (f" ({', '.join(result['drifted_features'])})" if result["drifted_features"] else "")
              + (f"; possible drift: {', '.join(result['possible_drift_features'])}"
                 if result["possible_drift_features"] else "") + f"; report: {summary_path}", flush=True)
        if result["verdict"] != "drift":
            return
        status = exec_properties["on_drift"]
        message = report.gate_message(status, result, summary_path)
        if status == "fail":
            raise DriftGateError(message)
        logging.warning(message)
        print(message, file=sys.stdout, flush=True)
