"""What the crash and load drivers share: the environment the `sandyq` CLI runs in."""
import os


def cli_env(root, passphrase):
    """The caller's environment without its SANDYQ_ settings, a HOME inside `root` (so no
    real home is touched), and the passphrase the CLI reads instead of prompting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANDYQ_")}
    env["HOME"] = os.path.join(root, "nohome")
    env["SANDYQ_PASSPHRASE"] = passphrase
    return env
