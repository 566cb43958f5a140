"""The rule-file pipeline: YAML source -> templates -> schema -> expressions -> checks -> compiled model."""
