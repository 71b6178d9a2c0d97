"""Plain nn.Module nets used by the Lightning modules."""
