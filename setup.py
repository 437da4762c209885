"""tfx-datacentric: a TFX pipeline template for data-centric AI.

Install the pinned stack first (`make install` does: `uv pip install --no-deps -r requirements.lock`), then this
package. The ranges below are what the code needs; the lock holds the tested versions.
"""
from setuptools import find_packages, setup

setup(
    name="tfx-datacentric",
    version="0.1.0",
    description="A TFX pipeline template for data-centric AI: label consistency, data quality, provenance",
    python_requires=">=3.10,<3.12",
    packages=find_packages(include=["pipeline", "pipeline.*", "components", "components.*", "models", "models.*"]),
    install_requires=[
        "tfx[kfp]==1.16.0",
        "tensorflow>=2.16,<2.17",
        "tensorflow-transform>=1.16,<1.17",
        "tensorflow-model-analysis>=0.47,<0.48",
        "tensorflow-data-validation>=1.16,<1.17",
        "ml-metadata>=1.16,<1.17",
        "apache-beam>=2.60",
        "pyarrow>=10",
        "numpy<2",
        "pandas",
        "scikit-learn",
        "cleanlab>=2.6",
        "krippendorff>=0.6",
        "statsmodels>=0.14",
        "dill",
        "tomli; python_version < '3.11'",
    ],
    extras_require={"test": ["pytest", "hypothesis"], "demo": ["palmerpenguins"]},
)
