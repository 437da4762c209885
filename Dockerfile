# The image every Kubeflow task runs in: TFX 1.16 with this project's locked stack, its custom components and its
# model code, installed as a package so the module names in the compiled pipeline import. It doubles as the Beam
# SDK worker image for Dataflow, Flink and Spark. Build: `make image IMAGE=REGISTRY/tfx-datacentric:TAG`;
# docs/kubeflow.md covers pushing, compiling and submitting.
ARG TFX_VERSION=1.16.0
ARG BEAM_VERSION=2.74.0
ARG PYTHON_VERSION=3.10

FROM apache/beam_python${PYTHON_VERSION}_sdk:${BEAM_VERSION} AS beam

FROM gcr.io/tfx-oss-public/tfx:${TFX_VERSION}
ARG PYTHON_VERSION

# The lock was resolved for Python 3.10, the base image's Python, and Beam's SDK harness must match it too.
RUN python -c "import sys; v = '%d.%d' % sys.version_info[:2]; \
    assert v == '${PYTHON_VERSION}', 'base image Python is ' + v + ', expected ${PYTHON_VERSION}'"

# Exactly the tested stack, as `make install` installs it: every pin, no resolver.
COPY requirements.lock /tmp/requirements.lock
RUN python -m pip install --no-cache-dir --no-deps -r /tmp/requirements.lock && rm /tmp/requirements.lock

# The project itself, non-editable: pipeline, components and models land in site-packages and the sources go away,
# so nothing resolves against a checkout.
COPY setup.py /tmp/src/
COPY pipeline /tmp/src/pipeline
COPY components /tmp/src/components
COPY models /tmp/src/models
RUN python -m pip install --no-cache-dir --no-deps /tmp/src && rm -rf /tmp/src

# TFX 1.16's Trainer and Evaluator need Keras 2; the container entrypoint imports TensorFlow before our code does.
ENV TF_USE_LEGACY_KERAS=1

# Fail the build, not the first pipeline run, when an entrypoint or our code does not import.
RUN cd / && python -c "import components, models.model, models.preprocessing, pipeline.pipeline; \
    import tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor; \
    import tfx.orchestration.kubeflow.v2.file_based_example_gen.driver"

# Beam's SDK harness: Dataflow (--sdk_container_image), Flink and Spark (--environment_config) start it as the
# entrypoint. Kubeflow sets each task's command explicitly, so this does not change how pipeline tasks start.
COPY --from=beam /opt/apache/beam /opt/apache/beam
ENTRYPOINT ["/opt/apache/beam/boot"]
