"""What the contract suites iterate over (imported by the test modules as ``suite``).

Every registered algorithm, every registered env the suites run over (the built-in
ones and the test plugin's ``test-point``, registered here through the plugin
mechanism a third party uses: ``mollirl.registry.load_plugin`` on a file).
"""

from pathlib import Path

from mollirl import registry

#: the test plugin (a plain Gymnasium env on a DummyVecEnv, a NaN env, signalling callbacks)
CONTRACT_PLUGIN = str(Path(__file__).parent / "plugins" / "contract_plugin.py")
registry.load_all_plugins([CONTRACT_PLUGIN])

#: every registered algorithm
ALGOS = registry.names("algos")
#: every registered env the contract suites run over (built-ins and the test plugin's)
CONTRACT_ENVS = [e.name for e in registry.entries("envs") if e.meta.get("contract", True)]


def tiny_args(env: str, algo: str = "reinforce", epochs: int = 3) -> list[str]:
    """The smallest run of ``algo`` on ``env`` that still exercises everything (well under a second)."""
    return ["--algo", algo, "--env", env, "--horizon", "20", "--batch-episodes", "4", "--epochs", str(epochs),
            "--no-progress", "--checkpoint-every", "1", "--plugin", CONTRACT_PLUGIN]
