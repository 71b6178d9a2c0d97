"""What the serving process is told, read once when a component starts (never at import,
never per request): `driftwise serve` and a built Bento pass these as DRIFTWISE_* variables
(deploy/k8s/serving.yaml sets them too). A bad value stops the service at start with the
variable's name and reason, instead of a crash on the first request.

`Driftwise.__init__` (bento/service.py) and the front door's middleware (bento/front_door.py)
are built by BentoML separately, each from `ServiceSettings()`; everything below them gets
its value handed down.
"""

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from data.length import DEFAULT_MAX_CHARS, LengthPolicy


class ServiceSettings(BaseSettings):
    # extra="ignore": the same environment carries the control plane's DRIFTWISE_* settings
    model_config = SettingsConfigDict(env_prefix="DRIFTWISE_", extra="ignore")

    home: Path = Field(Path(".driftwise"), description="Runtime home: state and logs.")
    admin_token: str = Field("", description="Bearer token of the admin API; empty = off.")
    log_rate: float = Field(0.1, ge=0, le=1, description="Uniform prediction-log sample share.")
    cache_entries: int = Field(10_000, ge=0, description="Prediction cache size.")
    price_per_core_hour: float = Field(0.05, ge=0, description="Cost units per CPU hour.")
    max_in_flight: int = Field(256, ge=0, description="Past this, 503 + Retry-After.")
    batching: bool = Field(True, description="False: one forward per request (a bench row).")
    cascade_audit_rate: float = Field(0.05, ge=0, le=1, description="Cascade audit share.")
    max_body_bytes: int = Field(2 * 1024 * 1024, ge=1, description="Larger bodies: 413.")
    max_text_chars: int = Field(DEFAULT_MAX_CHARS, ge=1, description="The dataset's limit.")
    long_text: Literal["truncate", "quarantine"] = Field(
        "truncate", description="The dataset's rule for texts over the limit."
    )
    champion_tag: str | None = Field(
        None, description="A built Bento's champion (bento/build.py), before any state file."
    )

    @property
    def length(self) -> LengthPolicy:
        """The dataset's length policy (data/length.py): landing's limit and cut."""
        return LengthPolicy(self.max_text_chars, self.long_text)
