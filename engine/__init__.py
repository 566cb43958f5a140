"""xiangyue (乡约): village points rules and checklists, as data, checked and explained."""

from .errors import Diagnostic, InputError, Pos, RulesetError, StoreError, XiangyueError

__all__ = ["Diagnostic", "InputError", "Pos", "RulesetError", "StoreError", "XiangyueError"]
__version__ = "0.1.0"
