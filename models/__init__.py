"""Lightning modules, nets, datamodules, training, export and inference. No dagster/bentoml."""
