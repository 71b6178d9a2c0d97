"""Canary rollout: policy, live evidence, anytime-valid tests, the state machine."""
