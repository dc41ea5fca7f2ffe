"""Every read of the outbreak module, scoped to the acting user. Cases and contacts are health
data: only HEALTH_ROLES see them, and every view of a case or contact record is audited."""
