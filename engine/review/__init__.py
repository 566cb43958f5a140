"""Review tools: semantic diff, replay, lint against county policy, rule tests."""
