"""Reports over a run directory: status (and its live view), the hypothesis tree, the HTML
report, the batch page, the MLflow export. Read-only: must never write into a run directory
anything but its own output files (``tree.html``, ``report.html``, a batch's page)."""
