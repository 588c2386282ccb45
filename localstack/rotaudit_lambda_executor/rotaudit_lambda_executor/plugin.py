"""The plux plugin LocalStack loads when LAMBDA_RUNTIME_EXECUTOR=rotaudit-host."""

from localstack.services.lambda_.invocation.plugins import RuntimeExecutorPlugin


class HostExecutorPlugin(RuntimeExecutorPlugin):
    """Loads HostRuntimeExecutor; the import waits until LocalStack asks for it."""

    name = "rotaudit-host"

    def load(self, *args, **kwargs):
        from rotaudit_lambda_executor.executor import HostRuntimeExecutor

        return HostRuntimeExecutor
