"""Configuration: one TOML file and HOOKGATE_* variables, validated into one model per section."""
