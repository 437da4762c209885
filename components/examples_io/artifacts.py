"""Examples artifacts: where a split's files are, and carrying an artifact's properties (splits, span, payload format,
provenance, corrections) over to the artifact made from it."""
import os

from tfx.components.example_gen import utils as example_gen_utils
from tfx.components.util import examples_utils
from tfx.types import artifact_utils

# ExampleGen's own custom properties.
EXAMPLE_GEN_PROPERTIES = (example_gen_utils.FINGERPRINT_PROPERTY_NAME, example_gen_utils.PAYLOAD_FORMAT_PROPERTY_NAME,
                          example_gen_utils.FILE_FORMAT_PROPERTY_NAME)


def split_files_pattern(examples, split):
    return os.path.join(artifact_utils.get_split_uri([examples], split), "*")


def carried_properties():
    """The custom properties a component that derives new Examples from old ones copies, so that provenance stays
    on the Examples the training stage reads: ExampleGen's, and every one the provenance and corrections components
    declare in their contracts (a property they add there is carried over with no change here)."""
    # Imported here, not at the top: those modules import their executors, which import this module.
    from components.corrections.contract import CORRECTIONS_PROPERTIES
    from components.provenance.contract import PROVENANCE_PROPERTIES
    return EXAMPLE_GEN_PROPERTIES + PROVENANCE_PROPERTIES + CORRECTIONS_PROPERTIES


def carry_over(source, target):
    """Copies splits, span, version and the carried custom properties from source to target."""
    target.split_names = source.split_names
    for name in (example_gen_utils.SPAN_PROPERTY_NAME, example_gen_utils.VERSION_PROPERTY_NAME):
        if source.has_property(name):
            setattr(target, name, getattr(source, name))
        elif source.has_custom_property(name):  # where TFX's ExampleGen driver records them
            setattr(target, name, source.get_int_custom_property(name))
            target.set_int_custom_property(name, source.get_int_custom_property(name))
    examples_utils.set_payload_format(target, examples_utils.get_payload_format(source))
    for key in carried_properties():
        if key in source.mlmd_artifact.custom_properties:
            target.mlmd_artifact.custom_properties[key].CopyFrom(source.mlmd_artifact.custom_properties[key])


def scratch_dir(executor, output_uri):
    """The executor's temporary folder; a folder inside the output (the executor removes it at the end) when the
    executor is called without one, as tests and benchmarks call it."""
    try:
        return executor._get_tmp_dir()  # pylint: disable=protected-access
    except RuntimeError:
        return os.path.join(output_uri, ".scratch")
