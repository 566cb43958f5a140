"""The points engine: one evaluation door, two evaluators, ledger, explain, boards, selections, market, publish."""
