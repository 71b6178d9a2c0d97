"""Label Studio's side of a queue: the labelling interface and the tasks (pure: XML and JSON).

One project per dataset; its interface is built from the dataset's labels (any number, any
spelling: values are XML-escaped), with the model's answer shown as a pre-annotation
(a Label Studio "prediction", its score the model's confidence).
"""

from typing import Any
from xml.sax.saxutils import quoteattr

import pandas as pd

FROM_NAME = "label"  # the Choices control's name: harvest reads annotations by it
TO_NAME = "text"


def label_config(labels: list[str]) -> str:
    if not labels:
        raise ValueError("a labelling interface needs at least one label")
    choices = "".join(f"<Choice value={quoteattr(label)}/>" for label in labels)
    return (
        "<View>"
        '<Header value="Model: $predicted_label ($confidence), why here: $reason"/>'
        f'<Text name="{TO_NAME}" value="$text"/>'
        f'<Choices name="{FROM_NAME}" toName="{TO_NAME}" choice="single" showInline="true">'
        f"{choices}</Choices></View>"
    )


def to_tasks(queue: pd.DataFrame) -> list[dict[str, Any]]:
    """Import payloads: the item in `data` (harvest reads its lineage back from there), the
    model's answer as a pre-annotation."""
    tasks = []
    for item in queue.to_dict("records"):
        data = {
            k: (None if isinstance(v, float) and v != v else v)  # NaN is not JSON
            for k, v in item.items()
        }
        data["confidence"] = round(float(item["confidence"]), 4)
        tasks.append(
            {
                "data": data,
                "predictions": [
                    {
                        "model_version": str(item.get("model_version")),
                        "score": float(item["confidence"]),
                        "result": [
                            {
                                "from_name": FROM_NAME,
                                "to_name": TO_NAME,
                                "type": "choices",
                                "value": {"choices": [str(item["predicted_label"])]},
                            }
                        ],
                    }
                ],
            }
        )
    return tasks
