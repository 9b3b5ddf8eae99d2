"""GitHub integration: the runner's file and workflow-command contract."""
