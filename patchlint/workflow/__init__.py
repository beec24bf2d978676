"""workflow: how patchlint fits the moments it is used at — configuration files,
the git send-email hook, choosing the revision a mailed series was made on.
Sits between report and cli: it may use every stage, only cli uses it."""
