"""`sagactl audit`: the report on the terminal, as JSON if asked, and the exit code."""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import NoReturn

from rich.console import Console

from infra.audit.run import run_audit
from infra.audit.snapshot import TemporalUnavailable
from infra.rest import ServiceCallError, ServiceUnavailable
from infra.stack import StackConfig
from saga_contract import NAMESPACE


def command(config: StackConfig, *, json_file: Path | None, deadline_seconds: int) -> NoReturn:
    """`sagactl audit`: print the report, write it as JSON if asked, and exit 0 when every invariant
    holds, 1 on a violation or a service that cannot be read, 2 when the JSON file cannot be written.
    Leaves through os._exit: a process that used temporalio can crash at interpreter exit."""
    code = 1
    try:
        code = _audit_and_print(config, json_file=json_file, deadline_seconds=deadline_seconds)
    except (ServiceUnavailable, TemporalUnavailable) as error:
        print(f"sagactl: {error}; is `sagactl up` running?", file=sys.stderr)
    except ServiceCallError as error:
        print(f"sagactl: {error}", file=sys.stderr)
    except KeyboardInterrupt:
        code = 130
    except Exception:
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _audit_and_print(config: StackConfig, *, json_file: Path | None, deadline_seconds: int) -> int:
    report = run_audit(
        order_url=config.order_url,
        payment_url=config.payment_url,
        inventory_url=config.inventory_url,
        notification_url=config.notification_url,
        temporal_address=config.temporal_address,
        token=config.tokens().operator_token(),
        namespace=NAMESPACE,
        deadline_seconds=deadline_seconds,
    )
    console = Console(highlight=False, soft_wrap=True)
    for line in report.lines():
        style = "red" if line.startswith(" ") else "green" if line.endswith(" OK") else "bold red"
        console.print(line, style=style, markup=False)
    if json_file is not None:
        try:
            json_file.write_text(json.dumps(report.as_json(), indent=2) + "\n")
        except OSError as error:
            print(f"sagactl: cannot write {json_file}: {error.strerror or error}", file=sys.stderr)
            return 2
    return 0 if report.ok else 1
