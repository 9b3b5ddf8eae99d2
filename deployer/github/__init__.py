"""GitHub integration for the action (`deployer.action`).

- `runner`: the runner's contract: INPUT_* inputs, GITHUB_OUTPUT, the job summary, workflow commands, masks;
- `event`: the event payload: the commit to report, the pull request, forks;
- `api`: a small REST client (PR comments, Deployments) whose errors name the missing permission;
- `publish`: the sticky PR comment and the Deployment's lifecycle;
- `report`: the summary table and the comment's text.
"""
