"""`driftwise labels`: the dataset's label contract (data/labels.py), shown and extended.

A new class comes in only here (or by a config change when the config declares the labels),
so one mistyped label in a landed file can never add a class on its own.
"""

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from orchestration.cli import offline

labels_app = typer.Typer(
    no_args_is_help=True,
    help="The label contract: which classes rows may carry, and admitting a new one.",
)
console = Console()


def _contract_source():  # type: ignore[no-untyped-def]
    from data.labels import read_contract
    from orchestration.settings import load_settings

    offline.apply()
    settings = load_settings()
    return settings.dataset, settings.data_registry(), read_contract(settings.data_registry())


@labels_app.command("show")
def show() -> None:
    """The classes rows are checked against, where they come from, and the audit."""
    spec, _, contract = _contract_source()
    if spec.labels is not None:
        console.print(f"{spec.name}: {', '.join(spec.labels)} (declared in config)")
    elif contract is None:
        console.print(
            f"{spec.name}: no contract yet: any non-empty label is accepted until the first "
            "training snapshot freezes the labels it holds"
        )
        return
    else:
        console.print(f"{spec.name}: {', '.join(contract.labels)} (frozen)")
    for entry in contract.audit if contract else []:
        console.print(
            escape(
                f"  {entry['at']} {entry['action']} {entry['labels']} by {entry['by']}: "
                f"{entry['reason']}"
            )
        )


@labels_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The new class, spelled as rows will carry it.")],
    reason: Annotated[str, typer.Option(help="Why (kept in the contract's audit).")],
) -> None:
    """Admit a new class: rows with it are accepted from the next ingest (or `reingest`)."""
    from data.labels import LabelContract, save_contract

    spec, registry, contract = _contract_source()
    if spec.labels is not None:
        raise typer.BadParameter(
            f"{spec.name!r} declares its labels in config ({', '.join(spec.labels)}): "
            "add the class there (dataset.labels)",
            param_hint="NAME",
        )
    if not reason.strip():
        raise typer.BadParameter("say why the class is admitted", param_hint="--reason")
    try:
        if contract is None:  # before the first snapshot: nothing inferred yet to extend
            raise typer.BadParameter(
                "no label contract yet: labels are frozen by the first training snapshot "
                "(until then any label is accepted)",
                param_hint="NAME",
            )
        updated: LabelContract = contract.admit(name, reason.strip())
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="NAME") from exc
    save_contract(registry, updated, f"Label contract: add {name!r} ({reason.strip()})")
    console.print(escape(f"{spec.name}: {', '.join(updated.labels)} (added {name!r})"))
