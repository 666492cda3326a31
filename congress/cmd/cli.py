"""What the console scripts share: an oslo.config ``ConfigOpts`` whose ``--help`` keeps line
breaks, so the usage examples in descriptions and epilogs print one per line."""

from __future__ import annotations

import argparse
from typing import Any

from oslo_config import cfg

from congress import config


class ConfigOpts(cfg.ConfigOpts):
    """oslo.config's ConfigOpts, printing description and epilog as written.

    oslo.config builds its argparse parser in ``_pre_setup`` without a way to pass a formatter
    (the default one re-wraps every paragraph); the parser's formatter is switched right after.
    """

    def _pre_setup(self, *args: Any, **kwargs: Any) -> Any:
        result = super()._pre_setup(*args, **kwargs)
        parser = getattr(self, "_oparser", None)
        if parser is not None:
            parser.formatter_class = argparse.RawDescriptionHelpFormatter
        return result


def new_conf() -> ConfigOpts:
    """A command-line ConfigOpts with every Congress option registered."""
    conf = ConfigOpts()
    config.register_opts(conf)
    return conf
