"""The label loop's pure logic: which predictions deserve a human (selection), what the
annotation server's answers become (harvest), and what the reviewed labels say about each
model version (an inclusion-weighted estimate). No Dagster, no HTTP."""
