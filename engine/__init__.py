"""xiangyue (乡约): village points rules and checklists, as data, checked and explained."""

from xiangyue.errors import Diagnostic, InputError, Pos, RulesetError, StoreError, XiangyueError

__all__ = ["Diagnostic", "InputError", "Pos", "RulesetError", "StoreError", "Village", "XiangyueError",
           "load_ruleset"]


def __getattr__(name: str):
    # the API object and the loader are imported on first use: `import xiangyue` stays cheap
    if name == "Village":
        from xiangyue.village import Village

        return Village
    if name == "load_ruleset":
        from xiangyue.rules.pipeline import load_ruleset

        return load_ruleset
    raise AttributeError(name)
__version__ = "0.1.0"
