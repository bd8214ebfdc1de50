"""Built-in callbacks (a plugin, loaded through the ``mollirl.plugins`` entry points).

A callback is registered as a factory ``factory(context, **options) ->
BaseCallback``; ``--callback NAME:key=value,...`` passes the options.
``context`` is a :class:`mollirl.training.RunContext` (config, run folder,
env plugin, evaluation-start options, ``make_vec_env(n)``). The built-ins act at
epoch boundaries only (:class:`mollirl.common.callbacks.EpochCallback`).
"""

from __future__ import annotations

from mollirl.registry import register


def _stability(context, window: int = 10):
    from mollirl.callbacks.stability import StabilityCallback

    return StabilityCallback(window=int(window))


register("callbacks", "stability", _stability,
         help="logs the spread of J_det over the last `window` epochs (the paper's Fig. 6 stability): stability:window=10")


def _landscape(context, **options):
    from mollirl.callbacks.landscape import landscape_callback

    return landscape_callback(context, **options)


def _q_landscape(context, **options):
    from mollirl.callbacks.landscape import q_landscape_callback

    return q_landscape_callback(context, **options)


register("callbacks", "landscape", _landscape,
         help="J and J_sigma snapshots on fixed directions every N epochs (+ start, end) into landscapes/: "
              "landscape:every=10,grid=11,dims=1,radius=1,directions=random,mode=both,episodes=8")
register("callbacks", "q-landscape", _q_landscape,
         help="Q(s0, a) over the action plane every N epochs into landscapes/q/: q-landscape:every=10,grid=21")


def _video(context, **options):
    from mollirl.callbacks.video import video_callback

    return video_callback(context, **options)


register("callbacks", "video", _video,
         help="a clip of the deterministic policy every N epochs (+ start, end) into videos/ and TensorBoard: "
              "video:every=10,format=mp4,tensorboard=true,tb_size=240,fast=true")
