"""Packaging for Congress: policy as a service, rebuilt in Python."""
from pathlib import Path

from setuptools import find_packages, setup

setup(
    name="congress",
    version="0.1.0",
    description="Policy as a service for clouds: Datalog policies over cloud data",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.11",
    # the packages sit where their names say: an editable install is a plain .pth entry
    package_dir={"": "."},
    packages=find_packages(include=["congress", "congress.*"]),
    include_package_data=True,
    package_data={"congress.db": ["migrations/*.ini", "migrations/*.mako"]},
    install_requires=[
        # What congress-server and congress-db-manage need to run. Lower bounds are the
        # versions Debian 12 ships as python3-* packages (packaging/debian builds on them).
        "python-dateutil>=2.8",
        "PyYAML>=6.0",
        "oslo.config>=9.0",
        "oslo.messaging>=14.0",
        # imported directly (bus/transport.py, bus/threads.py); Debian's oslo.messaging does
        # not declare them in its metadata
        "oslo.serialization>=5.0",
        "oslo.service>=3.0",
        # the queue-consumer probe of bus/transport.py talks to RabbitMQ with it (it comes with
        # oslo.messaging's rabbit driver, through kombu)
        "amqp>=5.1",
        # oslo.service >= 4 runs on threads only with it (see congress/bus/threads.py)
        "cotyledon>=1.7",
        "oslo.policy>=4.0",
        "keystonemiddleware>=10.0",
        "falcon>=3.1",
        "waitress>=2.1",
        "SQLAlchemy>=1.4.46",
        "alembic>=1.8",
        "PyMySQL>=1.0",
        "cryptography>=38",
        "jsonschema>=4.10",
        "openstacksdk>=0.101",
        "keystoneauth1>=5.1",
        "requests>=2.28",
        "prometheus-client>=0.16",      # GET /metrics
    ],
    extras_require={
        # kept so that `pip install .[server]` still works; the server needs no extra now
        "server": [],
        "test": [
            "pytest>=7",
            "hypothesis>=6",
            "ruff>=0.4",
            "import-linter>=2.1",
            "schemathesis>=4,<5",       # tests/functional/test_openapi.py
        ],
    },
    entry_points={
        "console_scripts": [
            "congress-server=congress.cmd.launch:server",
            "congress-db-manage=congress.cmd.db_manage:main",
        ],
        "oslo.config.opts": [
            "congress=congress.config:list_opts",
        ],
    },
    classifiers=[
        "Programming Language :: Python :: 3",
        "Operating System :: POSIX :: Linux",
    ],
)
