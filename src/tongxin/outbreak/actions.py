"""Every write of the outbreak module: keyword-only, one transaction, audited, and followed by a
recompute of the status of every resident the write concerns (`status.status_recompute`)."""
