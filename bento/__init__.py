"""The BentoML service and its serving helpers. Imports models/ only."""
