"""Deployment artefacts for a cluster (deploy/k8s) and their offline validation."""
