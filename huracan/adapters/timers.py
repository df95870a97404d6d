"""Starting the shadow-trade timer: one Step Functions execution per trade, named after the shadow id.

The name makes the start idempotent: a second ``StartExecution`` with the same name and input returns
the running execution, and one for a finished execution raises ``ExecutionAlreadyExists``; both mean the
timer exists, so both are success here.
"""

from __future__ import annotations

import json

import botocore.exceptions

from huracan.adapters.clients import client
from huracan.adapters.errors import translate_errors
from huracan.adapters.settings import AwsSettings
from huracan.service.entities import TimerStart

__all__ = ["StepFunctionsTimers"]


class StepFunctionsTimers:
    """Starts executions of the ``ShadowTradeTimer`` state machine."""

    def __init__(self, state_machine_arn: str, settings: AwsSettings) -> None:
        self.state_machine_arn = state_machine_arn
        self._settings = settings

    def start(self, timer: TimerStart) -> bool:
        """Start the execution; True if this call started it, False if it already existed."""
        sfn = client("stepfunctions", self._settings)
        with translate_errors("states.StartExecution"):
            try:
                sfn.start_execution(
                    stateMachineArn=self.state_machine_arn,
                    name=timer.name,
                    input=json.dumps(timer.input, sort_keys=True),
                )
            except botocore.exceptions.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ExecutionAlreadyExists":
                    return False
                raise
        return True

    def is_running(self, name: str) -> bool:
        """True when the execution ``name`` exists and is RUNNING (a timer still waiting or resolving)."""
        prefix, _, machine = self.state_machine_arn.rpartition(":stateMachine:")
        if not machine:
            raise ValueError(f"not a state machine ARN: {self.state_machine_arn}")
        arn = f"{prefix}:execution:{machine}:{name}"
        sfn = client("stepfunctions", self._settings)
        with translate_errors("states.DescribeExecution"):
            try:
                status = sfn.describe_execution(executionArn=arn)["status"]
            except botocore.exceptions.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "ExecutionDoesNotExist":
                    return False
                raise
        return bool(status == "RUNNING")
