"""Built-in callbacks (plugin subpackage).

A callback is registered as a factory ``factory(context, **options) ->
BaseCallback``; ``--callback NAME:key=value,...`` passes the options.
``context`` is a :class:`mollirl.training.RunContext` (config, run folder,
``make_eval_env()``).
"""

from __future__ import annotations

from mollirl.registry import register


def _stability(context, window: int = 10):
    from mollirl.callbacks.stability import StabilityCallback

    return StabilityCallback(window=int(window))


register("callbacks", "stability", _stability,
         help="logs the spread of J_det over the last `window` epochs (the paper's Fig. 6 stability): stability:window=10")
