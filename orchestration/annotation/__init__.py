"""The annotation server (Label Studio): its process, its HTTP API, and the label loop's
two moves - push a review queue, harvest finished annotations into the landing zone."""
