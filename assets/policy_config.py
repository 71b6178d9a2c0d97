"""Dagster run configs derived from the pydantic models that hold the real rules, so a new
policy field shows up in the launchpad (with its type, default, bounds and description)
without a second edit, and the run config is validated by the same constraints.

`config_from(PromotionPolicy, ...)` builds a `dg.Config` class whose fields are the model's
(a nested model's fields flattened in, e.g. `floors.accuracy_min` -> `accuracy_min`;
`prefix`/`rename` keep established run-config keys); `to_model()` turns a run's config back
into the model. Dagster accepts these generated classes like hand-written ones: it reads
the pydantic fields.
"""

from typing import Annotated, Any, ClassVar

import dagster as dg
from pydantic import BaseModel, Field, create_model


class DerivedConfig(dg.Config):
    """Base of the generated configs; `to_model` rebuilds the source model."""

    source: ClassVar[type[BaseModel]]
    nested: ClassVar[dict[str, tuple[type[BaseModel], tuple[str, ...]]]]
    names: ClassVar[dict[str, str]]  # model field -> config field

    def to_model(self) -> Any:
        values = dict(self)
        kwargs: dict[str, Any] = {}
        for field, (model, inner) in self.nested.items():
            kwargs[field] = model(**{f: values[self.names[f]] for f in inner})
        for field in self.source.model_fields:
            if field not in self.nested and field in self.names:
                kwargs[field] = values[self.names[field]]
        return self.source(**kwargs)


def _field(info: Any) -> tuple[Any, Any]:
    """The model field as a config field: annotation with its constraints, default (or
    factory) and description."""
    annotation = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    if info.default_factory is not None:
        return annotation, Field(default_factory=info.default_factory, description=info.description)
    return annotation, Field(info.default, description=info.description)


def config_from(
    source: type[BaseModel],
    name: str,
    *,
    flatten: tuple[str, ...] = (),
    omit: tuple[str, ...] = (),
    prefix: str = "",
    rename: dict[str, str] | None = None,
    doc: str = "",
) -> type[DerivedConfig]:
    """A `dg.Config` class named `name` with `source`'s fields (see the module docstring).

    Args:
        flatten: fields whose type is a model: its fields go in directly (no prefix).
        omit: fields the run config does not set (they keep the model's default, or the
            asset fills them from elsewhere, e.g. the dataset's config).
        prefix: put before every config field name (`judge_` + `base_url`).
        rename: model field -> config field name, overriding the prefix.
    """
    rename = rename or {}
    fields: dict[str, Any] = {}
    names: dict[str, str] = {}
    nested: dict[str, tuple[type[BaseModel], tuple[str, ...]]] = {}
    for field, info in source.model_fields.items():
        if field in omit:
            continue
        if field in flatten:
            model = info.annotation
            assert isinstance(model, type) and issubclass(model, BaseModel), field
            nested[field] = (model, tuple(model.model_fields))
            for inner, inner_info in model.model_fields.items():
                names[inner] = inner
                fields[inner] = _field(inner_info)
            continue
        names[field] = rename.get(field, prefix + field)
        fields[names[field]] = _field(info)
    config = create_model(name, __base__=DerivedConfig, __doc__=doc or source.__doc__, **fields)
    config.source, config.nested, config.names = source, nested, names
    return config
