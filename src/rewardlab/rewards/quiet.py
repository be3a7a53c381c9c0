"""Loading a local model without transformers' "Loading weights" progress bar.

transformers draws a bar for every model it loads, even from a local folder in a fraction of a second;
in a reward search it lands between rewardlab's own progress lines (and ignores `--quiet`). Imported only
where torch and transformers already are.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator


@contextlib.contextmanager
def no_loading_bars() -> Iterator[None]:
    """transformers' progress bars off inside the block, back as they were after it."""
    from transformers.utils import logging

    was_on = logging.is_progress_bar_enabled()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_on:
            logging.enable_progress_bar()
