"""Bounded memory: a ``jobyard serve`` process takes a 256 MiB S3 object (multipart, and in one PUT) and a
256 MiB multipart Glacier archive and gives them back, checked byte for byte (MD5, ETags, tree hash),
while its resident memory grows by less than 64 MB. The workload is ``bench/memory.py``'s (which runs it
with 2 GiB and prints the figures)."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), os.pardir, "bench"))

import memory  # noqa: E402

SIZE = 256 * memory.MiB
BOUND_MB = 64


def test_large_uploads_and_downloads_keep_the_server_small(tmp_path):
    figures = memory.run(SIZE, str(tmp_path))
    growth_mb = figures["peak_growth_MiB"] * memory.MiB / 1e6
    assert growth_mb < BOUND_MB, figures
    # The peak was measured: resident memory of a Python server with its codecs loaded, not a zero.
    assert figures["baseline_rss_MiB"] > 10, figures
