"""Reports over a run directory: status, the hypothesis tree, the HTML report. Read-only:
must never write anything but its own output files (``tree.html``, ``report.html``)."""
