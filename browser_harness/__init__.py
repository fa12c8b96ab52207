"""What the browser tests (``tests/e2e``) and the browser bench (``bench/browser_bench.py``) share:
where the built web UI and Chromium are (``chromium``), the synthetic frames they show (``frames``),
the stand-in for the interactive session API answered inside the browser (``session_stub``), where
an image point of the frame canvas is on the page (``canvas``); and ``make screenshots``
(``screenshots``), which drives the live embedded demo (``demo``, also used by ``tests/test_demo.py``)
for the README's screenshots, never the stand-in.

Neither the product nor the engine imports it; it sits beside ``tests/`` and ``bench/`` so that
the bench never imports the test tree.
"""
